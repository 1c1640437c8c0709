"""The GitHub workflows and the scripts they call.

actionlint passes on every workflow file; the stage workflows reach their servers only through
bin/factiii-ssh-run, never echo a secret, and upload/summarize/clean up with `if: always()`;
bin/factiii-ssh-run is run for real against an SSH test host: the key is 0600 while the command
runs and gone afterwards (success, failure, signal), the exit code is passed through, a missing
secret is a one-line error with exit 2, host keys are checked, and the secret never shows.
bin/factiii-summary prints the callback's own report as Markdown. dev-sync's step scripts run
for real with a fake gh: an artifact is taken only from a dev-sync run of this repository on an
allowed branch, the shipped file is one factiii-infra-<semver>.tar.gz, and paths reach the
playbook whole. (Both scripts are Python:
ansible-test's sanity tests read every file under bin/ as Python.)
"""
import glob
import hashlib
import html.parser
import io
import json
import os
import re
import shutil
import signal
import subprocess
import tarfile

import pytest
import yaml

from support import ROOT, tool
from testhost import TestHosts

SSH_RUN = os.path.join(ROOT, 'bin', 'factiii-ssh-run')
TEMPLATES = os.path.join(ROOT, 'workflow-templates')
WORKFLOW_FILES = sorted(glob.glob(os.path.join(ROOT, '.github', 'workflows', '*.yml'))
                        + glob.glob(os.path.join(TEMPLATES, '*.yml')))
STAGE_WORKFLOWS = ['factiii-scan.yml', 'factiii-fix-staging.yml', 'factiii-fix-prod.yml', 'factiii-deploy.yml',
                   'factiii-dev-sync.yml', 'factiii-fleet.yml']


def load(name):
    with open(os.path.join(TEMPLATES, name)) as handle:
        return yaml.safe_load(handle)


def steps(workflow):
    return [(job_id, step) for job_id, job in workflow['jobs'].items() for step in job.get('steps', [])]


# --- the workflow files -------------------------------------------------------------------


def test_every_workflow_exists():
    names = sorted(os.path.basename(p) for p in WORKFLOW_FILES)
    assert names == sorted(STAGE_WORKFLOWS + ['ci.yml', 'release.yml'])


def test_actionlint_passes_on_every_workflow_file():
    argv = [tool('actionlint'), '-no-color']
    shellcheck = shutil.which('shellcheck')
    # with shellcheck, actionlint checks the scripts of `run:` steps too
    if shellcheck:
        argv.append('-shellcheck=%s' % shellcheck)
    proc = subprocess.run(argv + WORKFLOW_FILES, capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_triggers_and_inputs():
    scan = load('factiii-scan.yml')
    assert set(scan['on']) == {'schedule', 'workflow_dispatch'} and not scan['on']['workflow_dispatch']
    for name in ('factiii-fix-staging.yml', 'factiii-fix-prod.yml'):
        assert load(name)['on'] == {'workflow_dispatch': None}, 'fix workflows take no inputs'
    deploy = load('factiii-deploy.yml')
    inputs = deploy['on']['workflow_dispatch']['inputs']
    assert list(inputs) == ['environment'] and inputs['environment']['options'] == ['staging', 'prod']
    assert [job['environment'] for job in deploy['jobs'].values()] == ['${{ inputs.environment }}']
    fleet = load('factiii-fleet.yml')
    inputs = fleet['on']['workflow_dispatch']['inputs']
    assert list(inputs) == ['stage', 'run', 'slices']
    assert inputs['stage']['options'] == ['staging', 'prod'] and inputs['run']['options'] == ['scan', 'fix']
    assert inputs['slices']['type'] == 'number'
    # the plan job reads the inventory only; the slices run in the chosen stage's environment
    assert [job.get('environment') for job in fleet['jobs'].values()] == [None, '${{ inputs.stage }}', None]


@pytest.mark.parametrize('name', STAGE_WORKFLOWS)
def test_stage_workflows_keep_the_guarantees_without_an_ansible_cfg(name):
    """An app repository may have no ansible.cfg (or another one): the job itself enables the report,
    fails on an inventory that does not parse, and checks host keys."""
    env = load(name)['env']
    assert env['ANSIBLE_CALLBACKS_ENABLED'] == 'factiii.infra.results_by_stage'
    for setting in ('ANSIBLE_INVENTORY_UNPARSED_FAILED', 'ANSIBLE_INVENTORY_ANY_UNPARSED_IS_FAILED',
                    'ANSIBLE_HOST_KEY_CHECKING'):
        assert env.get(setting) == 'true', setting


@pytest.mark.parametrize('name', STAGE_WORKFLOWS)
def test_stage_workflows_use_the_scripts_and_always_report_and_clean_up(name):
    with open(os.path.join(TEMPLATES, name)) as handle:
        text = handle.read()
    # host key options are factiii-ssh-run's business alone, and it never turns checking off
    assert 'StrictHostKeyChecking' not in text
    workflow = yaml.safe_load(text)
    assert workflow['permissions']['contents'] == 'read'
    runs = [step.get('run', '') for _job, step in steps(workflow)]
    for script in runs:
        # secrets reach a script only through env, and nothing echoes them
        assert '${{' not in script, 'expressions reach a script only through env: %s' % script
        assert not re.search(r'(echo|printf|cat)\b[^\n|]*\$\{?[A-Z]+_(SSH|KNOWN_HOSTS)\b', script), script
        if 'ansible-playbook' in script and '-l secrets' not in script:
            assert re.search(r'factiii-ssh-run "?\$?\w+"? -- ansible-playbook factiii\.infra\.\w+', script), script
    for job_id, job in workflow['jobs'].items():
        job_runs = [step.get('run', '') for step in job.get('steps', [])]
        if not any('factiii-ssh-run' in r for r in job_runs):
            continue
        always = [step for step in job['steps'] if str(step.get('if', '')).startswith('always()')]
        assert any(s.get('uses', '').startswith('actions/upload-artifact@') for s in always), job_id
        assert any('rm -rf "$RUNNER_TEMP"/factiii-ssh.*' in s.get('run', '') for s in always), job_id
        # the job summary: written by the job itself, or by a job that always runs after it
        # (the scan: one table for every stage) and reads the artifacts it uploaded
        reporters = [job] + [other for other in workflow['jobs'].values()
                             if job_id in other.get('needs', []) and other.get('if') == 'always()'
                             and any(s.get('uses', '').startswith('actions/download-artifact@') for s in other['steps'])]
        assert any(str(s.get('if', '')).startswith('always()') and 'factiii-summary' in s.get('run', '')
                   and '$GITHUB_STEP_SUMMARY' in s['run'] for r in reporters for s in r['steps']), job_id
        for step in job['steps']:
            if 'factiii-ssh-run' in step.get('run', ''):
                assert any(k.endswith('_SSH') and v.startswith('${{') and 'secrets.' in v
                           for k, v in step['env'].items()), step


# --- issue 12: stage keys only in their environments; pinned actions and hashed installs --


def _key_uses(workflow):
    """(job id, job, stage, the expression) for every secrets.<STAGE>_SSH a step reads."""
    for job_id, job in workflow['jobs'].items():
        for step in job.get('steps', []):
            for value in (step.get('env') or {}).values():
                for stage in re.findall(r'secrets\.([A-Z]+)_SSH\b', str(value)):
                    yield job_id, job, stage.lower(), value


@pytest.mark.parametrize('name', STAGE_WORKFLOWS)
def test_every_job_with_a_stage_key_runs_in_that_stages_environment(name):
    """Finding 3: a job without `environment:` can only read repository secrets, which every
    workflow of every branch can read too; in the stage's environment the key is an environment
    secret, behind its deployment-branch rules and required reviewers."""
    uses = list(_key_uses(load(name)))
    assert uses, 'the workflow reads no stage key'
    for job_id, job, stage, value in uses:
        environment = job.get('environment')
        if environment in ('${{ inputs.environment }}', '${{ inputs.stage }}'):
            # deploy, fleet: one job for either stage, each key given only when it is that stage
            name = environment[len('${{ '):-len(' }}')]
            assert "%s == '%s' && secrets.%s_SSH" % (name, stage, stage.upper()) in value, (job_id, value)
        else:
            assert environment == stage, (name, job_id, stage, environment)


def test_the_scan_runs_one_job_per_stage_and_one_summary_of_all():
    jobs = load('factiii-scan.yml')['jobs']
    assert list(jobs) == ['scan-secrets', 'scan-staging', 'scan-prod', 'summary']
    assert 'environment' not in jobs['scan-secrets']
    assert jobs['scan-staging']['environment'] == 'staging'
    assert jobs['scan-prod']['environment'] == 'prod'
    for stage in ('secrets', 'staging', 'prod'):
        job = jobs['scan-' + stage]
        runs = '\n'.join(step.get('run', '') for step in job['steps'])
        assert 'FACTIII_RESULTS_JSON="$FACTIII_RESULTS/scan-%s.json"' % stage in runs
        assert 'ansible-playbook factiii.infra.scan -l %s' % stage in runs
        upload, = [s for s in job['steps'] if s.get('uses', '').startswith('actions/upload-artifact@')]
        assert upload['if'] == 'always()' and upload['with']['name'] == 'factiii-results-scan-' + stage
    summary = jobs['summary']
    assert summary['needs'] == ['scan-secrets', 'scan-staging', 'scan-prod'] and summary['if'] == 'always()'
    assert 'environment' not in summary
    assert not any(re.search(r'(?<![\w-])secrets\.', json.dumps(step)) for step in summary['steps']), 'no secret'
    download, = [s for s in summary['steps'] if s.get('uses', '').startswith('actions/download-artifact@')]
    assert download['with']['pattern'] == 'factiii-results-scan-*' and download['with']['merge-multiple'] is True
    writes = [s['run'] for s in summary['steps'] if 'factiii-summary' in s.get('run', '')]
    assert len(writes) == 1 and writes[0].count('.json') == 3 and '$GITHUB_STEP_SUMMARY' in writes[0]


@pytest.mark.parametrize('results,rc', [
    (('success', 'success', 'success'), 0),
    (('success', 'failure', 'success'), 1),
    (('success', 'success', 'cancelled'), 1),
])
def test_the_scan_summary_fails_when_a_stage_did_not_succeed(results, rc):
    step, = [s for s in load('factiii-scan.yml')['jobs']['summary']['steps'] if 'needs.' in json.dumps(s.get('env'))]
    assert step['if'] == 'always()'
    env = dict(os.environ, **dict(zip(('SECRETS', 'STAGING', 'PROD'), results)))
    assert sorted(step['env']) == ['PROD', 'SECRETS', 'STAGING']
    proc = subprocess.run(['bash', '-e', '-c', step['run']], env=env, capture_output=True, text=True, check=False)
    assert proc.returncode == rc, proc.stdout + proc.stderr
    bad = [stage for stage, result in zip(('secrets', 'staging', 'prod'), results) if result != 'success']
    assert proc.stdout.splitlines() == ['::error::the scan of %s ended: %s' % (b, dict(zip(
        ('secrets', 'staging', 'prod'), results))[b]) for b in bad]


USES_RE = re.compile(r'^\s*(?:-\s+)?uses:\s*(\S+?)@(\S+)(.*)$')


def test_every_action_is_pinned_by_commit_sha_with_its_tag():
    """Finding 9: a tag can be moved to other code; a commit SHA cannot."""
    pins = {}
    for path in WORKFLOW_FILES:
        with open(path) as handle:
            for number, line in enumerate(handle, 1):
                match = USES_RE.match(line)
                if not match:
                    assert 'uses:' not in line.split('#')[0], (path, number, line)
                    continue
                action, ref, rest = match.groups()
                where = '%s:%d' % (os.path.basename(path), number)
                assert re.match(r'^[0-9a-f]{40}$', ref), '%s: %s@%s is not pinned by commit SHA' % (where, action, ref)
                assert re.match(r'^\s+#\s+v\d+\.\d+\.\d+$', rest), '%s: no "# vX.Y.Z" after the SHA' % where
                pins.setdefault(action, set()).add((ref, rest.split('#')[1].strip()))
    assert set(pins) >= {'actions/checkout', 'actions/upload-artifact', 'actions/download-artifact'}
    for action, refs in pins.items():
        assert len(refs) == 1, 'one pin per action everywhere: %s %s' % (action, refs)


REQUIREMENTS = os.path.join(TEMPLATES, 'factiii-requirements.txt')


def read_hashed_requirements():
    """{name: (version, [sha256, ...])} of factiii-requirements.txt."""
    with open(REQUIREMENTS) as handle:
        text = handle.read().replace('\\\n', ' ')
    found = {}
    for line in text.splitlines():
        line = line.split('#', 1)[0].strip() if not line.lstrip().startswith('--hash') else line.strip()
        if not line or line.startswith('#'):
            continue
        match = re.match(r'^([A-Za-z0-9_.-]+)==(\S+)((?:\s+--hash=sha256:[0-9a-f]{64})+)\s*$', line)
        assert match, 'not a pinned, hashed requirement: %r' % line
        name = re.sub(r'[-_.]+', '-', match.group(1)).lower()
        found[name] = (match.group(2), re.findall(r'sha256:([0-9a-f]{64})', match.group(3)))
    return found


def test_the_hashed_requirements_pin_ansible_core_and_everything_it_needs():
    """Finding 9: pip --require-hashes refuses a requirement without a hash, so every
    dependency ansible-core pulls on the runner (Linux, CPython 3.12) must be in the file."""
    from importlib import metadata
    from packaging.requirements import Requirement

    with open(os.path.join(ROOT, 'requirements.txt')) as handle:
        pin, = [line.strip() for line in handle if line.startswith('ansible-core==')]
    pinned = read_hashed_requirements()
    assert pinned['ansible-core'][0] == pin.split('==')[1]
    runner = {'python_version': '3.12', 'python_full_version': '3.12.3', 'sys_platform': 'linux',
              'platform_system': 'Linux', 'platform_machine': 'x86_64', 'os_name': 'posix',
              'implementation_name': 'cpython', 'platform_python_implementation': 'CPython', 'extra': ''}
    todo, seen = ['ansible-core'], set()
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        seen.add(name)
        assert name in pinned, '%s (needed on the runner) is not in factiii-requirements.txt' % name
        for spec in metadata.requires(name) or []:
            req = Requirement(spec)
            if req.marker is None or req.marker.evaluate(runner):
                todo.append(re.sub(r'[-_.]+', '-', req.name).lower())
    assert set(pinned) == seen, 'pinned but not needed: %s' % (set(pinned) - seen)


def install_step(name):
    steps = [s for job in load(name)['jobs'].values() for s in job['steps']
             if 'ansible-galaxy" collection install' in s.get('run', '')]
    assert steps, name
    return steps[0]['run']


@pytest.mark.parametrize('name', [n for n in STAGE_WORKFLOWS if n != 'factiii-dev-sync.yml'])
@pytest.mark.parametrize('checksum', ['right', 'wrong', 'unset', 'galaxy'])
def test_the_install_step_hashes_pip_and_checks_the_collections_sha256(name, checksum, tmp_path):
    """The workflow's own install script, run with stand-ins for python3's venv, pip and
    ansible-galaxy that record what they were asked: pip installs only the hashed file; the
    collection is installed only when its sha256 is FACTIII_COLLECTION_SHA256 (when set)."""

    workflow = load(name)
    assert workflow['env']['FACTIII_REQUIREMENTS'] == \
        "${{ vars.FACTIII_REQUIREMENTS || '.github/workflows/factiii-requirements.txt' }}"
    assert workflow['env']['FACTIII_COLLECTION_SHA256'] == '${{ vars.FACTIII_COLLECTION_SHA256 }}'
    tarball = tmp_path / 'factiii-infra-1.0.0.tar.gz'
    tarball.write_bytes(b'a collection tarball')
    stub = tmp_path / 'stub'
    stub.mkdir()
    log = tmp_path / 'calls.log'
    # python3 -m venv DIR: a "venv" whose pip and ansible-galaxy log their arguments
    (stub / 'python3').write_text(
        '#!/bin/sh\nmkdir -p "$3/bin"\nfor tool in pip ansible-galaxy; do\n'
        '  printf \'#!/bin/sh\\necho "%%s $*" >> "%s"\\n\' "$tool" > "$3/bin/$tool"\n'
        '  chmod +x "$3/bin/$tool"\ndone\n' % log)
    (stub / 'python3').chmod(0o755)
    runner_temp = tmp_path / 'runner'
    runner_temp.mkdir()
    env = dict(os.environ, PATH='%s:%s' % (stub, os.environ['PATH']), RUNNER_TEMP=str(runner_temp),
               GITHUB_PATH=str(tmp_path / 'path'), GITHUB_ENV=str(tmp_path / 'env'),
               FACTIII_REQUIREMENTS='.github/workflows/factiii-requirements.txt',
               FACTIII_COLLECTION='factiii.infra:==1.0.0' if checksum == 'galaxy' else str(tarball),
               FACTIII_COLLECTION_SHA256={'right': hashlib.sha256(tarball.read_bytes()).hexdigest(),
                                          'wrong': '0' * 64, 'unset': '', 'galaxy': '1' * 64}[checksum], STAGE='staging')
    proc = subprocess.run(['bash', '-e', '-c', install_step(name)], env=env, capture_output=True, text=True,
                          check=False, cwd=str(tmp_path))
    calls = log.read_text().splitlines() if log.exists() else []
    assert calls[0] == ('pip install --quiet --disable-pip-version-check --require-hashes --only-binary :all: '
                        '-r .github/workflows/factiii-requirements.txt'), calls
    galaxy = 'ansible-galaxy collection install --force --no-deps -p %s/factiii-collections %s' % (runner_temp, tarball)
    if checksum == 'wrong':
        assert proc.returncode == 1, proc.stdout + proc.stderr
        assert proc.stdout.strip() == ('::error::the collection\'s sha256 is %s, not FACTIII_COLLECTION_SHA256 %s' % (
            hashlib.sha256(tarball.read_bytes()).hexdigest(), '0' * 64))
        assert calls == calls[:1], 'a collection whose sha256 differs was installed'
    elif checksum == 'galaxy':
        # a Galaxy requirement has no file to check: a clear error, nothing installed
        assert proc.returncode == 1, proc.stdout + proc.stderr
        assert proc.stdout.strip() == ('::error::FACTIII_COLLECTION_SHA256 is set: FACTIII_COLLECTION must be the '
                                       'collection tarball\'s https URL or path')
        assert calls == calls[:1]
    else:
        assert proc.returncode == 0, proc.stdout + proc.stderr
        assert calls[1:] == [galaxy]


def galaxy_version():
    with open(os.path.join(ROOT, 'galaxy.yml')) as handle:
        return yaml.safe_load(handle)['version']


@pytest.mark.parametrize('name', STAGE_WORKFLOWS)
def test_the_default_collection_is_the_tarball_factiii_init_vendors(name):
    """Nothing publishes factiii.infra on Galaxy: by default a job installs the tarball `factiii init`
    put in the repository (factiii/collection/, the same checkout as the workflow file), of this
    collection's version (a release bumps both)."""
    assert load(name)['env']['FACTIII_COLLECTION'] == (
        "${{ vars.FACTIII_COLLECTION || 'factiii/collection/factiii-infra-%s.tar.gz' }}" % galaxy_version())


@pytest.mark.parametrize('name', STAGE_WORKFLOWS)
def test_no_unhashed_pip_install(name):
    with open(os.path.join(TEMPLATES, name)) as handle:
        text = ' '.join(handle.read().replace('\\\n', ' ').split(' '))
    installs = [' '.join(c.split()) for c in re.findall(r'pip" install[^\n]*', text)]
    assert installs, name
    for command in installs:
        assert '--require-hashes --only-binary :all: -r "$FACTIII_REQUIREMENTS"' in command, command


@pytest.mark.parametrize('name,playbook,stage', [
    ('factiii-fix-staging.yml', 'fix', 'staging'), ('factiii-fix-prod.yml', 'fix', 'prod'),
    ('factiii-scan.yml', 'scan', 'staging'), ('factiii-scan.yml', 'scan', 'prod'),
    ('factiii-deploy.yml', 'deploy', '"$STAGE"'), ('factiii-dev-sync.yml', 'dev_sync', 'staging'),
    ('factiii-fleet.yml', 'scan', '"$STAGE"'), ('factiii-fleet.yml', 'fix', '"$STAGE"')])
def test_each_workflow_runs_the_collections_playbook(name, playbook, stage):
    with open(os.path.join(TEMPLATES, name)) as handle:
        text = handle.read()
    assert re.search(r'factiii-ssh-run %s -- ansible-playbook factiii\.infra\.%s\b' % (re.escape(stage), playbook), text)
    assert os.path.exists(os.path.join(ROOT, 'playbooks', playbook + '.yml'))


def test_the_tarball_ships_the_templates_and_executable_scripts(built_collection):
    with tarfile.open(built_collection[0]) as tar:
        members = dict((m.name, m) for m in tar.getmembers())
    for name in STAGE_WORKFLOWS + ['README.md', 'factiii-requirements.txt']:
        assert 'workflow-templates/' + name in members
    # what `factiii init` writes besides the workflows (galaxy.yml's build_ignore drops the top ansible.cfg only)
    for name in ('ansible.cfg', 'factiii/hosts.yml', 'factiii/group_vars/all.yml', 'factiii/group_vars/staging.yml',
                 'factiii/group_vars/prod.yml'):
        assert members['app-template/' + name].isfile(), name
    assert 'ansible.cfg' not in members
    for script in ('bin/factiii-ssh-run', 'bin/factiii-summary'):
        assert members[script].mode & 0o111, script
    assert 'playbooks/dev_sync.yml' in members
    assert not any(n.startswith('.github/') for n in members)


@pytest.mark.parametrize('value', [None, ''])
def test_deploy_names_a_missing_start_command_in_one_line_before_anything_runs(playbook, tmp_path, value):
    """factiii-deploy.yml's required inventory value: without deploy_start_command the play stops
    on the controller with one line naming it, before any connection (the host's address is a
    closed port: reaching it would be UNREACHABLE)."""
    stage = {'hosts': {'web': {'ansible_host': '127.0.0.1', 'ansible_port': 23840}},
             'vars': {'staging_repo_url': '/srv/origin.git', 'staging_repo_dest': '/srv/app'}}
    if value is not None:
        stage['vars']['deploy_start_command'] = value
    inventory = tmp_path / 'hosts.yml'
    inventory.write_text(yaml.safe_dump({'all': {'children': {'staging': stage}}}))
    proc = playbook('-i', str(inventory), 'playbooks/deploy.yml', '-l', 'staging', '-e', 'deploy_ref=main')
    assert proc.returncode == 2, proc.report
    assert 'UNREACHABLE' not in proc.stdout, proc.report
    fatal, = [line for line in proc.stdout.splitlines() if line.startswith('fatal:')]
    assert '"msg": "set deploy_start_command in the inventory (factiii/group_vars/all.yml): the command that ' \
        'starts the app in its clone on the server, e.g. docker compose up -d --build"' in fatal, proc.report
    assert 'argument_spec_data' not in proc.stdout, proc.report


# --- dev-sync's steps, run as a runner runs them -------------------------------------------
# The scripts of factiii-dev-sync.yml's steps run with bash -eo pipefail (GitHub's shell), the
# step's env: given by the test, the runner's variables, and fake gh / factiii-ssh-run first on
# PATH; what they print and pass on is then read back.

THIS_RUN = {'id': 100, 'workflow_id': 7, 'path': '.github/workflows/factiii-dev-sync.yml', 'event': 'workflow_dispatch',
            'head_branch': 'main', 'head_sha': 'a' * 40, 'repository': {'id': 1, 'full_name': 'acme/app'},
            'head_repository': {'id': 1, 'full_name': 'acme/app'}}
FAKE_GH = r"""#!/bin/bash
# gh api <endpoint>: the JSON the test left for it, else gh's 404
echo "$*" >> "$FAKE_GH_DIR/calls"
[ "$1" = api ] && [ -n "$GH_TOKEN" ] || exit 4
answer="$FAKE_GH_DIR/${2//\//_}.json"
[ -f "$answer" ] || { echo 'gh: Not Found (HTTP 404)' >&2; exit 1; }
cat "$answer"
"""
FAKE_SSH_RUN = r"""#!/bin/bash
# factiii-ssh-run: record its argv as JSON
python3 -c 'import json, sys; print(json.dumps(sys.argv[1:]))' "$@" > "$FAKE_ARGV"
"""


def run_step(tmp_path, job, name, env, fakes=(), cwd=None):
    """Run the `run:` of the dev-sync step whose name starts with ``name`` in ``cwd`` (the checkout);
    ``env`` gives each of the step's env: entries (and overrides the runner's variables)."""
    workflow = load('factiii-dev-sync.yml')
    step, = [s for s in workflow['jobs'][job]['steps'] if s.get('name', '').startswith(name)]
    assert sorted(k for k in step.get('env', {}) if k not in env) == [], 'the test gives every env: entry'
    temp = tmp_path / 'runner temp=x y'  # a path with a space and a "=", as a runner could have
    bin_dir = tmp_path / 'bin'
    for path in (temp, bin_dir):
        path.mkdir(exist_ok=True)
    for fake in fakes:
        script = bin_dir / fake
        script.write_text({'gh': FAKE_GH, 'factiii-ssh-run': FAKE_SSH_RUN}[fake])
        script.chmod(0o755)
    script = tmp_path / 'step.sh'
    script.write_text(step['run'])
    full = dict(os.environ, PATH='%s:%s' % (bin_dir, os.environ['PATH']), RUNNER_TEMP=str(temp),
                GITHUB_REPOSITORY='acme/app', GITHUB_RUN_ID='100', GITHUB_REF_NAME='main',
                GITHUB_STEP_SUMMARY=str(tmp_path / 'summary'), GITHUB_ENV=str(tmp_path / 'github_env'),
                FAKE_GH_DIR=str(tmp_path), FAKE_ARGV=str(tmp_path / 'argv.json'))
    full.update({k: v for k, v in workflow['env'].items() if '${{' not in v})
    full.update(env)
    proc = subprocess.run(['bash', '--noprofile', '--norc', '-eo', 'pipefail', str(script)], env=full,
                          capture_output=True, text=True, check=False, timeout=60, cwd=cwd)
    proc.report = 'rc=%s\n--- stdout\n%s\n--- stderr\n%s' % (proc.returncode, proc.stdout, proc.stderr)
    proc.temp = temp
    return proc


def origin_check(tmp_path, run_id='42', branches='', **changes):
    """The run-origin step for artifact_run_id ``run_id``, run 42 being THIS_RUN with ``changes``."""
    (tmp_path / 'repos_acme_app_actions_runs_100.json').write_text(json.dumps(THIS_RUN))
    (tmp_path / 'repos_acme_app_actions_runs_42.json').write_text(json.dumps(dict(THIS_RUN, id=42, **changes)))
    return run_step(tmp_path, 'build', 'Accept only a dev-sync run', fakes=['gh'], env={
        'GH_TOKEN': 'token-of-the-job', 'ARTIFACT_RUN_ID': run_id, 'ALLOWED_BRANCHES': branches})


def test_dev_sync_checks_the_artifacts_run_before_downloading_it():
    build = load('factiii-dev-sync.yml')['jobs']['build']['steps']
    names = [s.get('name', '') for s in build]
    check = [i for i, n in enumerate(names) if n.startswith('Accept only a dev-sync run')]
    download = [i for i, s in enumerate(build) if s.get('with', {}).get('run-id')]
    assert len(check) == 1 and len(download) == 1 and check[0] < download[0], names
    assert build[check[0]]['if'] == build[download[0]]['if'] == "inputs.artifact_run_id != ''"
    assert build[check[0]]['env']['ARTIFACT_RUN_ID'] == '${{ inputs.artifact_run_id }}'


@pytest.mark.parametrize('branches', ['', 'main'])
def test_dev_sync_takes_the_artifact_of_its_own_workflow_on_an_allowed_branch(tmp_path, branches):
    proc = origin_check(tmp_path, branches=branches)
    assert proc.returncode == 0, proc.report
    assert 'taking the artifact of run 42: .github/workflows/factiii-dev-sync.yml on main, commit ' + 'a' * 40 \
        in proc.stdout, proc.report
    calls = (tmp_path / 'calls').read_text().splitlines()
    assert calls == ['api repos/acme/app/actions/runs/100', 'api repos/acme/app/actions/runs/42']


def test_dev_sync_takes_another_allowed_branch_named_in_the_variable(tmp_path):
    proc = origin_check(tmp_path, branches='main, feature/x', head_branch='feature/x')
    assert proc.returncode == 0, proc.report


FORK = {'id': 666, 'full_name': 'mallory/app'}


@pytest.mark.parametrize('changes,reason', [
    ({'event': 'pull_request', 'head_repository': FORK, 'head_branch': 'main'},
     'it was started by a pull_request event, not workflow_dispatch or push; its code comes from mallory/app, '
     'not acme/app'),
    ({'event': 'pull_request'}, 'it was started by a pull_request event'),
    ({'event': 'pull_request_target'}, 'it was started by a pull_request_target event'),
    ({'head_repository': FORK}, 'its code comes from mallory/app, not acme/app'),
    ({'head_repository': None}, 'its code comes from an unknown repository'),
    ({'workflow_id': 8, 'path': '.github/workflows/ci.yml'},
     'it is a run of .github/workflows/ci.yml, not of .github/workflows/factiii-dev-sync.yml'),
    ({'head_branch': 'feature\n::warning::x'}, 'its branch feature?::warning::x is not one of: main'),
], ids=['fork-pull-request', 'pull-request', 'pull-request-target', 'fork', 'no-head-repository',
        'other-workflow', 'other-branch'])
def test_dev_sync_refuses_an_artifact_of_an_untrusted_run(tmp_path, changes, reason):
    proc = origin_check(tmp_path, **changes)
    assert proc.returncode == 1, proc.report
    errors = [line for line in proc.stdout.splitlines() if line.startswith('::error::')]
    assert len(errors) == 1 and errors[0].startswith('::error::refusing the artifact of run 42: '), proc.report
    assert reason in errors[0], proc.report
    assert len(proc.stdout.splitlines()) == 1, 'one line, no workflow command smuggled in: ' + proc.report


@pytest.mark.parametrize('run_id', ['42 ', '-1', '4e2', '42/../100', '42;id', '1' * 21])
def test_dev_sync_refuses_a_run_id_that_is_not_a_number_without_asking_the_api(tmp_path, run_id):
    proc = origin_check(tmp_path, run_id=run_id)
    assert proc.returncode == 1, proc.report
    assert proc.stdout == '::error::artifact_run_id must be the number of a workflow run (digits only)\n', proc.report
    assert not (tmp_path / 'calls').exists()


def test_dev_sync_refuses_a_run_the_api_does_not_know(tmp_path):
    proc = origin_check(tmp_path, run_id='43')
    assert proc.returncode == 1, proc.report
    assert proc.stdout == '::error::cannot read run 43 of acme/app\n', proc.report


@pytest.mark.parametrize('names,ok', [
    (['factiii-infra-1.0.0.tar.gz'], True),
    (['factiii-infra-1.2.3-rc.1+build.5.tar.gz'], True),
    (['factiii-infra-1.0.0 -e x=y.tar.gz'], False),
    (["factiii-infra-1.0.0'.tar.gz"], False),
    (['factiii-infra-1.0.0.tar.gz\nFACTIII_X=1'], False),
    (['factiii-infra-latest.tar.gz'], False),
    (['factiii-infra-1.0.0.tar.gz', 'factiii-infra-1.0.1.tar.gz'], False),
    (['factiii-infra-1.0.0.tar.gz', '.extra'], False),
    ([], False),
])
def test_dev_sync_ships_exactly_one_tarball_named_as_a_build(tmp_path, names, ok):
    dist = tmp_path / 'runner temp=x y' / 'factiii-dist'
    dist.mkdir(parents=True)
    for name in names:
        (dist / name).write_bytes(b'tarball')
    proc = run_step(tmp_path, 'build', 'Checksum the tarball', env={})
    assert (proc.returncode == 0) == ok, proc.report
    if not ok:
        assert proc.stdout.startswith('::error::expected exactly one file, factiii-infra-<semver>.tar.gz, to ship'), \
            proc.report
        assert len(proc.stdout.splitlines()) == 1, proc.report


def ship(tmp_path, checkout, collection, collection_dir=''):
    """The dev-sync build job's "Build or take" step in ``checkout``, then its checksum step:
    (the build step, the checksum step, {name: bytes} of what it ships)."""
    venv_bin = tmp_path / 'runner temp=x y' / 'factiii-venv' / 'bin'
    venv_bin.mkdir(parents=True)
    (venv_bin / 'ansible-galaxy').symlink_to(tool('ansible-galaxy'))
    env = {'FACTIII_COLLECTION': collection, 'FACTIII_COLLECTION_DIR': collection_dir}
    build = run_step(tmp_path, 'build', 'Build the collection tarball from this commit', env=env, cwd=checkout)
    checksum = run_step(tmp_path, 'build', 'Checksum the tarball', env={})
    dist = tmp_path / 'runner temp=x y' / 'factiii-dist'
    return build, checksum, {p.name: p.read_bytes() for p in dist.iterdir()} if dist.is_dir() else {}


def test_dev_sync_from_an_app_repository_ships_the_collection_it_pins(tmp_path):
    """An app repository has no galaxy.yml: dev-sync ships the tarball `factiii init` vendored
    (FACTIII_COLLECTION), byte for byte, through the same checksum step."""
    app = tmp_path / 'app'
    (app / 'factiii' / 'collection').mkdir(parents=True)
    vendored = app / 'factiii' / 'collection' / 'factiii-infra-1.0.0.tar.gz'
    vendored.write_bytes(b'the pinned collection')
    build, checksum, shipped = ship(tmp_path, app, 'factiii/collection/factiii-infra-1.0.0.tar.gz')
    assert build.returncode == 0, build.report
    assert shipped == {'factiii-infra-1.0.0.tar.gz': b'the pinned collection'}
    assert checksum.returncode == 0, checksum.report
    assert 'shipping factiii-infra-1.0.0.tar.gz sha256 %s' % hashlib.sha256(b'the pinned collection').hexdigest() \
        in checksum.stdout


@pytest.mark.parametrize('where', ['own repository', 'FACTIII_COLLECTION_DIR'])
def test_dev_sync_builds_a_collection_source_it_is_given(tmp_path, where):
    """The collection's own repository (galaxy.yml in the checkout), or an app repository whose
    FACTIII_COLLECTION_DIR names a source directory: the build of that source is shipped, not the pin."""
    app = tmp_path / 'app'
    app.mkdir()
    if where == 'own repository':
        checkout, collection_dir = ROOT, ''
    else:
        checkout, collection_dir = app, ROOT
    build, checksum, shipped = ship(tmp_path, checkout, 'factiii/collection/factiii-infra-0.0.1.tar.gz',
                                    collection_dir)
    assert build.returncode == 0, build.report
    assert checksum.returncode == 0, checksum.report
    assert list(shipped) == ['factiii-infra-%s.tar.gz' % galaxy_version()]
    with tarfile.open(fileobj=io.BytesIO(shipped['factiii-infra-%s.tar.gz' % galaxy_version()])) as tar:
        assert 'playbooks/dev_sync.yml' in tar.getnames()


@pytest.mark.parametrize('collection,collection_dir,error', [
    ('factiii.infra:==1.0.0', '', "nothing to ship: there is no galaxy.yml here, and FACTIII_COLLECTION "
     "(factiii.infra:==1.0.0) is not a file in this repository: set FACTIII_COLLECTION_DIR to the collection's "
     "source, or FACTIII_COLLECTION to its tarball, or pass artifact_run_id"),
    ('factiii/collection/factiii-infra-1.0.0.tar.gz', 'src', "no galaxy.yml in src (FACTIII_COLLECTION_DIR): set "
     "the variable FACTIII_COLLECTION_DIR to the collection's source in this repository, or pass artifact_run_id"),
])
def test_dev_sync_says_in_one_line_when_it_has_nothing_to_ship(tmp_path, collection, collection_dir, error):
    app = tmp_path / 'app'
    app.mkdir()
    build, _built, shipped = ship(tmp_path, app, collection, collection_dir)
    assert build.returncode == 1, build.report
    assert build.stdout == '::error::%s\n' % error, build.report
    assert shipped == {}


def extra_vars(argv):
    """The extra vars ansible-playbook makes of the -e arguments in ``argv`` (its own parser)."""
    from ansible import context
    from ansible.module_utils.common.collections import ImmutableDict
    from ansible.parsing.dataloader import DataLoader
    from ansible.utils.vars import load_extra_vars

    values = tuple(argv[i + 1] for i, arg in enumerate(argv) if arg == '-e')
    saved = context.CLIARGS
    context.CLIARGS = ImmutableDict(extra_vars=values)
    load_extra_vars.extra_vars = None  # it keeps the first answer of the process
    try:
        return dict(load_extra_vars(DataLoader()))
    finally:
        context.CLIARGS = saved
        load_extra_vars.extra_vars = None


@pytest.mark.parametrize('rollback', ['false', 'true'])
def test_dev_sync_passes_paths_to_the_playbook_whole(tmp_path, rollback):
    temp = tmp_path / 'runner temp=x y'
    tarball = str(temp / 'factiii-dist' / 'factiii-infra-1.0.0.tar.gz')
    proc = run_step(tmp_path, 'sync', 'Dev-sync staging', fakes=['factiii-ssh-run'], env={
        'ROLLBACK': rollback, 'STAGING_SSH': 'key', 'STAGING_KNOWN_HOSTS': 'hosts', 'STAGING_HOST': '',
        'STAGING_USER': '', 'APP_REPO_URL': '', 'FACTIII_TARBALL': tarball,
        'FACTIII_RESULTS': str(temp / 'factiii-results'), 'FACTIII_SERVER_ANSIBLE_BIN': '/opt/x y/bin'})
    assert proc.returncode == 0, proc.report
    argv = json.loads((tmp_path / 'argv.json').read_text())
    assert argv[:5] == ['staging', '--', 'ansible-playbook', 'factiii.infra.dev_sync', '-l'], argv
    expected = {'dev_sync_results_dir': str(temp / 'factiii-results'), 'dev_sync_ansible_bin': '/opt/x y/bin'}
    expected.update({'dev_sync_rollback': True} if rollback == 'true' else {'dev_sync_tarball': tarball})
    assert extra_vars(argv) == expected


# --- bin/factiii-summary ------------------------------------------------------------------


def test_summary_is_the_callbacks_report_as_markdown(tmp_path, summary_script):
    from ansible_collections.factiii.infra.plugins.plugin_utils import results as cb
    report = cb.new_report()
    cb.add_results(report, 'prod', 'p1', [{'fix_id': 'prod-git-missing', 'status': 'failed', 'msg': 'apt held', 'steps': []}])
    cb.add_results(report, 'staging', 's1', [
        {'fix_id': 'staging-git-missing', 'status': 'fixed', 'msg': 'installed git', 'steps': []},
        {'fix_id': 'staging-docker-autostart', 'status': 'manual', 'msg': 'login', 'steps': ['enable auto-login']}])
    staging, prod = cb.new_report(), cb.new_report()
    staging['stages'] = {'staging': report['stages']['staging']}
    prod['stages'] = {'prod': report['stages']['prod']}
    files = []
    for name, part in (('staging', staging), ('prod', prod)):
        path = tmp_path / ('%s.json' % name)
        path.write_text(json.dumps(part))
        files.append(str(path))
    proc = subprocess.run([tool('python'), summary_script] + files, capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stderr
    assert '| STAGING | 1 | 1 | 0 | 0 |' in proc.stdout
    assert '| PROD | 0 | 0 | 1 | 0 |' in proc.stdout
    assert '| **Total** | 1 | 1 | 1 | 0 |' in proc.stdout
    # the merged files give exactly the callback's own text for the whole report
    assert '```text\n%s\n```' % cb.format_report(report) in proc.stdout

    missing = subprocess.run([tool('python'), summary_script, str(tmp_path / 'none.json')], capture_output=True,
                             text=True, check=False)
    assert missing.returncode == 1
    assert 'none.json**: no results' in missing.stdout


def test_summary_of_a_scan_says_would_fix(tmp_path, summary_script):
    """A scan's results (check_mode true, counts under "fixed"): the table and the text say Would fix."""
    from ansible_collections.factiii.infra.plugins.plugin_utils import results as cb
    report = cb.new_report()
    cb.add_results(report, 'staging', 's1', [
        {'fix_id': 'staging-git-missing', 'status': 'fixed', 'msg': 'would install git', 'steps': []},
        {'fix_id': 'staging-docker-autostart', 'status': 'manual', 'msg': 'login', 'steps': ['enable auto-login']}],
        check_mode=True)
    path = tmp_path / 'staging.json'
    assert cb.write_json(report, str(path)) is None
    assert json.loads(path.read_text())['total']['fixed'] == 1
    proc = subprocess.run([tool('python'), summary_script, str(path)], capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert lines[0] == '## RESULTS BY STAGE (scan)'
    assert '| Stage | Would fix | Manual | Failed | OK |' in lines
    assert '| STAGING | 1 | 1 | 0 | 0 |' in lines and '| **Total** | 1 | 1 | 0 | 0 |' in lines
    assert '   Would fix: 1, Manual: 1, Failed: 0' in lines
    assert 'TOTAL: Would fix: 1, Manual: 1, Failed: 0' in lines
    assert not [line for line in lines if 'Fixed' in line], proc.stdout


def summary(script, *paths):
    """factiii-summary ``script`` (the installed collection's: the summary_script fixture) of ``paths``."""
    proc = subprocess.run([tool('python'), script] + [str(p) for p in paths], capture_output=True, check=False)
    proc.text = proc.stdout.decode('utf-8')  # strict: a lone surrogate could not have been written
    return proc


class Cells(html.parser.HTMLParser):
    """The table's cells (their text, entities decoded) and every tag of the rendered Markdown."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.rows, self.tags, self._cell = [], [], None

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        if tag == 'tr':
            self.rows.append([])
        elif tag in ('td', 'th'):
            self._cell = ''

    def handle_endtag(self, tag):
        if tag in ('td', 'th'):
            self.rows[-1].append(self._cell)
            self._cell = None

    def handle_data(self, data):
        if self._cell is not None:
            self._cell += data


def rendered(markdown):
    """The Markdown as GitHub renders a job summary (CommonMark, tables, raw HTML allowed), parsed."""
    from markdown_it import MarkdownIt  # brought by molecule's rich
    cells = Cells()
    cells.feed(MarkdownIt('commonmark', {'html': True}).enable(['table', 'strikethrough']).render(markdown))
    return cells


OBEYED = re.compile('[\x00-\x08\x0b-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069\ud800-\udfff]')


def test_summary_shows_values_from_the_file_as_text(tmp_path, summary_script):
    """A results file is another run's artifact: its names and messages are text in the summary, never
    Markdown, HTML or terminal controls."""
    from ansible_collections.factiii.infra.plugins.plugin_utils import results as cb
    stage = 'qa|x **b** _i_ `c` <img src=x onerror=alert(1)> [l](https://e.invalid) ~~s~~ \x1b]52;c;eA==\x07\nrow'
    report = cb.new_report()
    cb.add_results(report, stage, 'h\x1b[2J\ud800', [
        {'fix_id': 'x-\x9b2J', 'status': 'failed', 'msg': 'ok\rFixed: 0 ``` </code> <script>alert(1)</script>',
         'steps': []}])
    cb.add_results(report, 'prod', 'p1', [{'fix_id': 'prod-git-missing', 'status': 'ok', 'msg': '', 'steps': []}])
    path = tmp_path / 'crafted.json'
    path.write_text(json.dumps(cb.ordered(report)))

    proc = summary(summary_script, path)

    assert proc.returncode == 0, proc.stderr
    assert not OBEYED.search(proc.text), proc.text
    page = rendered(proc.text)
    # the table: a header, a row per stage, the total; five cells each, the stage name as its text
    assert [len(row) for row in page.rows] == [5, 5, 5, 5], page.rows
    assert page.rows[2][0] == cb.printable(stage.upper(), newlines=False)
    assert page.rows[2][1:] == ['0', '0', '1', '0']
    assert not set(page.tags) & {'img', 'a', 'em', 'script', 's', 'del'}, page.tags
    # only the summary's own markup: **Total** and the fenced text block
    assert (page.tags.count('strong'), page.tags.count('code')) == (1, 1), page.tags
    assert '\\u001b]52;C;EA==\\u0007' in proc.text and '\\u009b2J' in proc.text and 'ok\\u000dFixed' in proc.text


def test_summary_reports_each_file_that_cannot_be_used_and_exits_1(tmp_path, summary_script):
    from ansible_collections.factiii.infra.plugins.plugin_utils import results as cb
    good = cb.new_report()
    cb.add_results(good, 'staging', 's1', [{'fix_id': 'staging-git-missing', 'status': 'fixed', 'msg': 'd', 'steps': []}])
    files = {
        'good.json': json.dumps(cb.ordered(good)),
        'truncated.json': '{"stages": {"prod": ',
        'list.json': '[]',
        'shape.json': json.dumps({'stages': {'prod': {'hosts': {'p1': {'results': [{'fix_id': 'x', 'status': 7}]}}}}}),
        'counts.json': json.dumps({'stages': {'prod': {'hosts': {'p1': {'failed': 'many', 'results': []}}}}}),
        'deep.json': '[' * 100000 + ']' * 100000,
        'latin1.json': b'{"stages": {"\xe9": {}}}',
        'bad_*name*<b>.json': '{',
    }
    for name, text in files.items():
        (tmp_path / name).write_bytes(text if isinstance(text, bytes) else text.encode())
    (tmp_path / 'adir.json').mkdir()
    paths = [tmp_path / name for name in files] + [tmp_path / 'adir.json', tmp_path / 'missing.json']

    proc = summary(summary_script, *paths)

    assert proc.returncode == 1, proc.text
    assert proc.stderr == b'', proc.stderr
    lines = [line for line in proc.text.splitlines() if line.startswith('> **')]
    assert len(lines) == len(paths) - 1, proc.text
    expected = {
        'truncated.json': 'not a usable results file: not JSON: Expecting value',
        'list.json': 'not a usable results file: not a factiii results file',
        'shape.json': 'not a usable results file: stage "prod" host "p1" result 1: "status" 7 is not one of',
        'counts.json': 'not a usable results file: stage "prod" host "p1": "failed" is "many", not a count',
        'deep.json': 'not a usable results file: not JSON: nested too deeply',
        'latin1.json': 'not a usable results file: not JSON',
        'adir.json': 'cannot read it: Is a directory',
        'missing.json': 'no results (No such file or directory): the run stopped before it could report',
    }
    page = rendered(proc.text)
    for name, why in expected.items():
        line = next(line for line in lines if '%s**: ' % name in line)
        assert line.split('**: ', 1)[1].replace('\\', '').startswith(why), line
    assert any('bad\\_\\*name\\*&lt;b&gt;.json**: not a usable results file: not JSON' in line for line in lines)
    assert 'b' not in page.tags and 'em' not in page.tags
    # what could be read is still shown
    assert '| STAGING | 1 | 0 | 0 | 0 |' in proc.text


# --- bin/factiii-ssh-run against a real SSH host ------------------------------------------


@pytest.fixture(scope='module')
def host_image():
    proc = subprocess.run(['bash', os.path.join(ROOT, 'tests', 'hosts', 'build-image')], capture_output=True,
                          text=True, check=False, stdin=subprocess.DEVNULL, timeout=1200)
    if proc.returncode != 0:
        pytest.fail('cannot build the test host image:\n%s%s' % (proc.stdout, proc.stderr))


@pytest.fixture(scope='module')
def ssh_host(host_image, tmp_path_factory):
    workdir = tmp_path_factory.mktemp('ssh-run')
    with TestHosts('sync-ssh', 1, workdir, base_port=23210) as hosts:
        inventory = workdir / 'hosts.yml'
        host = hosts[0]
        # the address only: key and host key come from factiii-ssh-run
        inventory.write_text(yaml.safe_dump({'all': {'children': {'staging': {'hosts': {host.name: {
            'ansible_host': '127.0.0.1', 'ansible_port': host.port, 'ansible_user': 'root'}}}}}}))
        with open(hosts.key) as handle:
            key = handle.read()
        with open(hosts.known_hosts) as handle:
            known = handle.read()
        yield {'hosts': hosts, 'host': host, 'inventory': str(inventory), 'key': key, 'known': known}


def ssh_run(ssh_host, tmp_path, *command, drop=(), **kw):
    tmp = tmp_path / 'tmp'
    tmp.mkdir(exist_ok=True)
    env = dict(os.environ, TMPDIR=str(tmp), STAGING_SSH=ssh_host['key'], STAGING_KNOWN_HOSTS=ssh_host['known'],
               ANSIBLE_CONFIG=os.path.join(ROOT, 'ansible.cfg'), ANSIBLE_NOCOLOR='1',
               PATH=os.path.dirname(tool('ansible-playbook')) + os.pathsep + os.environ.get('PATH', ''))
    env.pop('RUNNER_TEMP', None)
    for name in drop:
        env.pop(name, None)
    env.update(kw.pop('env', {}))
    proc = subprocess.run([SSH_RUN, 'staging', '--'] + list(command), env=env, cwd=str(tmp_path),
                          stdin=subprocess.DEVNULL, capture_output=True, text=True, check=False, timeout=300, **kw)
    proc.report = 'rc=%s\n--- stdout\n%s\n--- stderr\n%s' % (proc.returncode, proc.stdout, proc.stderr)
    proc.tmp = tmp
    return proc


def secret_lines(key):
    """The lines of the private key that are secret (not the BEGIN/END markers)."""
    return [line for line in key.splitlines() if line and not line.startswith('-----')]


def assert_no_secret(proc, key):
    for line in secret_lines(key):
        assert line not in proc.stdout and line not in proc.stderr, 'the private key was printed'


PROBE = ('echo "key=$ANSIBLE_PRIVATE_KEY_FILE mode=$(stat -c %a "$ANSIBLE_PRIVATE_KEY_FILE") cp=$ANSIBLE_SSH_CONTROL_PATH_DIR '
         'dir=$(stat -c %a "$(dirname "$ANSIBLE_PRIVATE_KEY_FILE")") '
         'hosts_mode=$(stat -c %a "$FACTIII_KNOWN_HOSTS") secret_in_env=${STAGING_SSH:+yes}"; '
         'echo "common=$ANSIBLE_SSH_COMMON_ARGS"; env')


def probe(proc):
    line = [x for x in proc.stdout.splitlines() if x.startswith('key=')][0]
    return dict(part.split('=', 1) for part in line.split())


def test_ssh_run_reaches_the_host_with_one_connection_and_removes_the_key(ssh_host, tmp_path):
    playbook = tmp_path / 'ping.yml'
    playbook.write_text(yaml.safe_dump([{'name': 'Three tasks, one connection', 'hosts': 'staging',
                                         'gather_facts': False, 'tasks': [
                                             {'ansible.builtin.ping': None},
                                             {'ansible.builtin.command': 'true', 'changed_when': False},
                                             {'ansible.builtin.ping': None}]}]))
    logins = ssh_host['host'].ssh_logins()
    proc = ssh_run(ssh_host, tmp_path, 'sh', '-c', PROBE + ' && ansible-playbook -i "$1" "$2"', 'probe',
                   ssh_host['inventory'], str(playbook))
    assert proc.returncode == 0, proc.report
    seen = probe(proc)
    assert (seen['mode'], seen['dir'], seen['hosts_mode']) == ('600', '700', '600')
    assert seen.get('secret_in_env', '') == '', 'the command does not get STAGING_SSH'
    assert 'StrictHostKeyChecking=yes' in proc.stdout and 'IdentitiesOnly=yes' in proc.stdout
    assert 'ok=3' in proc.stdout, proc.report
    assert ssh_host['host'].ssh_logins() - logins == 1, 'one SSH connection for the whole run'
    # pinned host key fingerprint shown, key gone, no ssh master left behind
    assert re.search(r'factiii-ssh-run: staging: pinned host key 256 SHA256:\S+ .*\(ED25519\)', proc.stdout)
    assert not os.path.exists(seen['key']) and not os.path.exists(seen['cp'])
    assert os.listdir(str(proc.tmp)) == []
    ps = subprocess.run(['ps', '-eo', 'args'], capture_output=True, text=True, check=True).stdout
    assert seen['cp'] not in ps, 'an ssh master outlived the run'
    assert_no_secret(proc, ssh_host['key'])


def test_ssh_run_passes_a_failure_through_and_still_removes_the_key(ssh_host, tmp_path):
    proc = ssh_run(ssh_host, tmp_path, 'sh', '-c', PROBE + '; exit 7')
    assert proc.returncode == 7, proc.report
    assert not os.path.exists(probe(proc)['key'])
    assert os.listdir(str(proc.tmp)) == []
    assert_no_secret(proc, ssh_host['key'])


def test_ssh_run_removes_the_key_when_the_job_is_cancelled(ssh_host, tmp_path):
    tmp = tmp_path / 'tmp'
    tmp.mkdir()
    env = dict(os.environ, TMPDIR=str(tmp), STAGING_SSH=ssh_host['key'], STAGING_KNOWN_HOSTS=ssh_host['known'],
               PATH=os.path.dirname(tool('python')) + os.pathsep + os.environ.get('PATH', ''))
    env.pop('RUNNER_TEMP', None)
    proc = subprocess.Popen([SSH_RUN, 'staging', '--', 'sh', '-c', 'echo "$ANSIBLE_PRIVATE_KEY_FILE"; exec sleep 60'],
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            start_new_session=True)
    try:
        line = ''
        while not line.startswith('/'):
            line = proc.stdout.readline()
            assert line, proc.stderr.read()
        assert os.path.exists(line.strip())
        # a cancelled GitHub job: the runner signals the step's processes
        os.killpg(proc.pid, signal.SIGINT)
        assert proc.wait(timeout=30) == 130
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
        proc.stdout.close()
        proc.stderr.close()
    assert not os.path.exists(line.strip())
    assert os.listdir(str(tmp)) == []


@pytest.mark.parametrize('missing', ['STAGING_SSH', 'STAGING_KNOWN_HOSTS'])
def test_ssh_run_names_a_missing_secret_in_one_line(ssh_host, tmp_path, missing):
    proc = ssh_run(ssh_host, tmp_path, 'sh', '-c', 'echo ran', drop=(missing,))
    assert proc.returncode == 2, proc.report
    assert proc.stdout == ''
    lines = proc.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith('factiii-ssh-run: %s is not set' % missing), proc.report
    assert os.listdir(str(proc.tmp)) == []
    assert_no_secret(proc, ssh_host['key'])


def test_ssh_run_refuses_a_key_that_is_not_one(ssh_host, tmp_path):
    garbage = 'not a key but a secret value 1234567890'
    proc = ssh_run(ssh_host, tmp_path, 'sh', '-c', 'echo ran', env={'STAGING_SSH': garbage})
    assert proc.returncode == 2, proc.report
    assert proc.stderr.splitlines() == ['factiii-ssh-run: STAGING_SSH is not a usable private key '
                                        '(an OpenSSH or PEM key without a passphrase)']
    assert garbage not in proc.stdout + proc.stderr


def test_ssh_run_checks_the_host_key(ssh_host, tmp_path):
    other = tmp_path / 'other'
    subprocess.run(['ssh-keygen', '-q', '-t', 'ed25519', '-N', '', '-f', str(other)], check=True)
    wrong = '[127.0.0.1]:%d %s' % (ssh_host['host'].port, ' '.join((tmp_path / 'other.pub').read_text().split()[:2]))
    proc = ssh_run(ssh_host, tmp_path, 'ansible', '-i', ssh_host['inventory'], 'staging', '-m', 'ansible.builtin.ping',
                   env={'STAGING_KNOWN_HOSTS': wrong})
    assert proc.returncode != 0, proc.report
    assert 'Host key verification failed' in proc.stdout + proc.stderr or 'HOST IDENTIFICATION HAS CHANGED' in proc.stdout, \
        proc.report
    assert os.listdir(str(proc.tmp)) == []


# --- issue 18: the fleet workflow's slices merged by factiii-summary --slices ------------------


def _slice_file(tmp_path, name, stage, hosts, check_mode=True):
    from ansible_collections.factiii.infra.plugins.plugin_utils import results as cb
    report = cb.new_report()
    for host in hosts:
        cb.add_results(report, stage, host, [{'fix_id': '%s-git-missing' % stage, 'status': 'fixed', 'msg': 'git',
                                              'steps': []}], check_mode=check_mode)
    path = tmp_path / name
    assert cb.write_json(report, str(path)) is None
    return path


def test_summary_of_slices_is_one_report_and_refuses_a_host_twice_or_a_missing_slice(tmp_path, summary_script):
    one = _slice_file(tmp_path, 'slice-1.json', 'staging', ['s1', 's2'])
    two = _slice_file(tmp_path, 'slice-2.json', 'staging', ['s3'])
    proc = summary(summary_script, '--slices', one, two)
    assert proc.returncode == 0, proc.stderr
    assert '| STAGING | 3 | 0 | 0 | 0 |' in proc.text.splitlines()

    again = _slice_file(tmp_path, 'slice-3.json', 'staging', ['s4', 's2'])
    proc = summary(summary_script, '--slices', one, two, again)
    assert proc.returncode == 1, proc.text
    assert ('> **%s**: does not fit the other slices: stage "staging" host "s2" is in another slice\'s results '
            'too: each host belongs to one slice' % str(again).replace('_', '\\_')) in proc.text.splitlines()
    # the slices that fit are still shown; the one that does not adds nothing
    assert '| STAGING | 3 | 0 | 0 | 0 |' in proc.text.splitlines()

    # a slice whose job never wrote its file (failed before the run, artifact missing) is no success
    proc = summary(summary_script, '--slices', one, tmp_path / 'slice-2-of-2.json')
    assert proc.returncode == 1 and 'slice-2-of-2.json**: no results' in proc.text, proc.text

    hostile = tmp_path / 'hostile.json'
    hostile.write_text('{"stages": {"staging": {"hosts": {"s9": {"results": [{"fix_id": 1}]}}}}}')
    proc = summary(summary_script, '--slices', one, hostile)
    assert proc.returncode == 1 and not proc.stderr, proc.stderr
    assert 'not a usable results file: stage "staging" host "s9" result 1 is not a fix result' in proc.text

    # without --slices, files are merged as before (stages of other runs)
    assert summary(summary_script, one, again).returncode == 0


def fleet_step(tmp_path, job, name, env, path=()):
    """Run the `run:` of factiii-fleet.yml's step ``name`` of ``job`` as the runner would (bash -e), with
    ``env`` giving each of the step's env: entries; GITHUB_OUTPUT's lines are returned as proc.outputs."""
    workflow = load('factiii-fleet.yml')
    step, = [s for s in workflow['jobs'][job]['steps'] if s.get('name', '') == name]
    assert sorted(k for k in step.get('env', {}) if k not in env) == [], 'the test gives every env: entry'
    temp = tmp_path / 'runner temp'
    temp.mkdir(exist_ok=True)
    full = dict((k, v) for k, v in os.environ.items() if not k.startswith('ANSIBLE_'))
    full.update({k: v for k, v in workflow['env'].items() if '${{' not in v})
    full.update(RUNNER_TEMP=str(temp), GITHUB_OUTPUT=str(tmp_path / 'output'), ANSIBLE_FORCE_COLOR='0',
                GITHUB_STEP_SUMMARY=str(tmp_path / 'summary'),
                PATH=os.pathsep.join(list(path) + [os.path.dirname(tool('ansible')), os.environ['PATH']]))
    full.update(env)
    for name in ('output', 'summary'):
        (tmp_path / name).write_text('')
    proc = subprocess.run(['bash', '-e', '-c', step['run']], env=full, capture_output=True, text=True,
                          check=False, timeout=600, cwd=str(tmp_path))
    proc.report = 'rc=%s\n--- stdout\n%s\n--- stderr\n%s' % (proc.returncode, proc.stdout, proc.stderr)
    proc.outputs = dict(line.split('=', 1) for line in (tmp_path / 'output').read_text().splitlines())
    proc.summary = (tmp_path / 'summary').read_text()
    return proc


def fleet_plan(tmp_path, inventory, stage, slices):
    return fleet_step(tmp_path, 'plan', "Split the stage's hosts into slices",
                      {'STAGE': stage, 'SLICES': str(slices), 'ANSIBLE_INVENTORY': str(inventory)})


def list_hosts(inventory, limit):
    proc = subprocess.run([tool('ansible'), '-i', str(inventory), 'all', '-l', limit, '--list-hosts'],
                          capture_output=True, text=True, check=True)
    return proc.stdout.split()[2:]  # after "hosts (N):"


@pytest.mark.parametrize('hosts,slices,expected', [
    (4, 2, ['staging[0:1]', 'staging[2:3]']),
    (5, 2, ['staging[0:1]', 'staging[2:4]']),
    (7, 3, ['staging[0:1]', 'staging[2:3]', 'staging[4:6]']),
    (3, 8, ['staging[0:0]', 'staging[1:1]', 'staging[2:2]']),
    (1, 1, ['staging[0:0]']),
])
def test_the_fleet_splits_a_stage_into_slices_that_hold_each_host_once(tmp_path, hosts, slices, expected):
    """The plan job's own script with the real `ansible`: the slices' limits, given to Ansible, select
    every host of the stage exactly once (also hosts in nested groups, and a host listed twice)."""
    names = ['web-%02d' % i for i in range(hosts)]
    half = names[:hosts // 2 + 1]
    inventory = tmp_path / 'hosts.yml'
    inventory.write_text(yaml.safe_dump({'all': {'children': {
        'prod': {'hosts': {'p1': None}},
        'staging': {'children': {'eu': {'hosts': dict.fromkeys(half)},
                                 'us': {'hosts': dict.fromkeys(names[hosts // 2:])}}}}}}))
    proc = fleet_plan(tmp_path, inventory, 'staging', slices)
    assert proc.returncode == 0, proc.report
    matrix = json.loads(proc.outputs['matrix'])['include']
    assert [m['limit'] for m in matrix] == expected
    assert [(m['slice'], m['of']) for m in matrix] == [(i + 1, len(expected)) for i in range(len(expected))]
    assert proc.outputs['count'] == str(len(expected))
    selected = [host for m in matrix for host in list_hosts(inventory, m['limit'])]
    assert sorted(selected) == sorted(names), 'every host in exactly one slice'
    # the fan-out benchmark measures these same slices
    assert bench_fanout().slice_limits('staging', hosts, slices) == expected


def bench_fanout():
    """bench/fanout.py as a module (bench/ is no package)."""
    import importlib.util
    import sys
    if os.path.join(ROOT, 'bench') not in sys.path:
        sys.path.insert(0, os.path.join(ROOT, 'bench'))  # fanout.py imports bench.py
    spec = importlib.util.spec_from_file_location('factiii_bench_fanout', os.path.join(ROOT, 'bench', 'fanout.py'))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize('stage,slices,error', [
    ('staging', '0', 'slices must be a whole number from 1 to 64'),
    ('staging', '65', 'slices must be a whole number from 1 to 64'),
    ('staging', '2; touch pwned', 'slices must be a whole number from 1 to 64'),
    ('staging', '99999999999999999999', 'slices must be a whole number from 1 to 64'),
    ('staging', '-3', 'slices must be a whole number from 1 to 64'),
    ('dev', '2', 'stage must be staging or prod'),
    ('prod', '2', 'the prod group has no host in the inventory'),
])
def test_the_fleet_plan_refuses_bad_inputs_in_one_line(tmp_path, stage, slices, error):
    inventory = tmp_path / 'hosts.yml'
    inventory.write_text(yaml.safe_dump({'all': {'children': {'staging': {'hosts': {'s1': None}}, 'prod': {}}}}))
    proc = fleet_plan(tmp_path, inventory, stage, slices)
    assert proc.returncode == 1, proc.report
    assert proc.stdout.splitlines()[-1].startswith('::error::' + error), proc.report
    assert proc.outputs == {} and not (tmp_path / 'pwned').exists()


@pytest.mark.parametrize('limit', ['prod[0:1]', 'staging[0:1],prod', 'staging', 'staging[0:1] -e x=1'])
def test_a_fleet_slice_runs_only_a_slice_of_its_own_stage(tmp_path, limit):
    bin_dir = tmp_path / 'bin'
    bin_dir.mkdir()
    (bin_dir / 'factiii-ssh-run').write_text(FAKE_SSH_RUN)
    (bin_dir / 'factiii-ssh-run').chmod(0o755)
    env = dict.fromkeys(('STAGING_SSH', 'STAGING_KNOWN_HOSTS', 'STAGING_HOST', 'STAGING_USER', 'PROD_SSH',
                         'PROD_KNOWN_HOSTS', 'PROD_HOST', 'PROD_USER', 'APP_REPO_URL'), '')
    env.update(STAGE='staging', RUN='scan', LIMIT=limit, SLICE='1', FACTIII_RESULTS=str(tmp_path),
               FAKE_ARGV=str(tmp_path / 'argv.json'))
    proc = fleet_step(tmp_path, 'slice', 'Run the stage on this slice (one SSH connection per host)', env,
                      path=[str(bin_dir)])
    assert proc.returncode == 1, proc.report
    assert proc.stdout.strip() == '::error::not a slice of staging: %s' % limit
    assert not (tmp_path / 'argv.json').exists()
    env['LIMIT'] = 'staging[2:3]'
    for run, playbook in (('scan', 'factiii.infra.scan'), ('fix', 'factiii.infra.fix')):
        env['RUN'] = run
        proc = fleet_step(tmp_path, 'slice', 'Run the stage on this slice (one SSH connection per host)', env,
                          path=[str(bin_dir)])
        assert proc.returncode == 0, proc.report
        assert json.loads((tmp_path / 'argv.json').read_text()) == [
            'staging', '--', 'ansible-playbook', playbook, '-l', 'staging[2:3]']


@pytest.mark.parametrize('plan,slices,rc', [
    ('success', 'success', 0), ('success', 'failure', 1), ('failure', 'skipped', 1), ('success', 'cancelled', 1)])
def test_the_fleet_summary_fails_when_a_slice_did_not_succeed(tmp_path, plan, slices, rc):
    proc = fleet_step(tmp_path, 'summary', 'Fail when a slice did not succeed', {'PLAN': plan, 'SLICES': slices})
    assert proc.returncode == rc, proc.report
    assert ('::error::a slice ended: %s (see its job)' % slices in proc.stdout) == (slices != 'success')


def test_the_fleet_merge_fails_without_a_plan_or_with_a_slice_missing(tmp_path, summary_script):
    path = [os.path.dirname(summary_script)]
    proc = fleet_step(tmp_path, 'summary', 'Merge the slices into one RESULTS BY STAGE', {'COUNT': ''}, path=path)
    assert proc.returncode == 1 and '::error::the plan job split no slices' in proc.stdout, proc.report
    results_dir = tmp_path / 'runner temp' / 'factiii-results'
    results_dir.mkdir(parents=True)
    _slice_file(results_dir, 'slice-1.json', 'staging', ['s1'])
    proc = fleet_step(tmp_path, 'summary', 'Merge the slices into one RESULTS BY STAGE', {'COUNT': '2'}, path=path)
    assert proc.returncode == 1, proc.report
    assert 'slice-2.json**: no results' in proc.summary and proc.summary == proc.stdout
    _slice_file(results_dir, 'slice-2.json', 'staging', ['s2'])
    proc = fleet_step(tmp_path, 'summary', 'Merge the slices into one RESULTS BY STAGE', {'COUNT': '2'}, path=path)
    assert proc.returncode == 0, proc.report
    assert '| STAGING | 2 | 0 | 0 | 0 |' in proc.summary.splitlines() and proc.summary == proc.stdout
