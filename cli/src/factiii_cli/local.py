"""Stages run on this machine, through ansible-runner in this process.

One ansible-runner run of the collection's playbook (factiii.infra.scan or
factiii.infra.fix) limited to the local stages, with the results_by_stage
callback writing its JSON to a private temporary file. Each stage is ONE module
execution per host (factiii.infra.stage), so its fixes' results all arrive when
that task ends: the progress shows a line when a stage starts on a host, then one
line per fix as soon as the stage's task result comes in.
"""
import os
import re
import shlex
import shutil
import signal
import sys
import tempfile
import threading
from secrets import token_hex

from factiii_cli import remote, secret_env
from factiii_cli.errors import CliError

ERROR_LINE = re.compile(r'^(?:\[ERROR\]:|ERROR!)\s*(.*)$')
LABELS = {'ok': 'ok', 'fixed': 'fixed', 'manual': 'MANUAL', 'failed': 'FAILED'}


def _first_line(text):
    text = ('%s' % (text or '')).strip()
    line = text.splitlines()[0] if text else ''
    # ansible-core 2.19 prefixes its own messages; the progress line already says it failed
    return line[len('Task failed: '):] if line.startswith('Task failed: ') else line


def _stage(data):
    """The stage an event belongs to: its play's ("Staging stage"), else its role's."""
    play = '%s' % (data.get('play') or '')
    if play.endswith(' stage'):
        return play[:-len(' stage')].strip().lower()
    return data.get('role') or play or '?'


class Events:
    """The ansible-runner event handler: progress lines for the local stages."""

    def __init__(self, progress, check_mode):
        self.progress = progress
        self.check_mode = check_mode

    def __call__(self, event):
        data = event.get('event_data') or {}
        name = event.get('event')
        host = data.get('host') or data.get('remote_addr') or '?'
        where = '[%s] %s' % (_stage(data), host)
        if name == 'runner_on_start' and '.stage' in '%s' % data.get('resolved_action', data.get('task_action', '')):
            self.progress.line('%s: %s...' % (where, 'scanning' if self.check_mode else 'fixing'))
        elif name in ('runner_on_ok', 'runner_on_failed'):
            res = data.get('res') or {}
            fixes = [f for f in res.get('results') or [] if isinstance(f, dict) and 'fix_id' in f]
            if 'fix_id' in res:
                fixes = [res]
            stage = res.get('stage') or _stage(data)
            for fix in fixes:
                status = fix.get('status')
                label = 'would fix' if status == 'fixed' and self.check_mode else LABELS.get(status, status)
                msg = _first_line(fix.get('msg'))
                self.progress.line('[%s] %s: %s %s%s' % (stage, host, fix.get('fix_id'), label, ': ' + msg if msg else ''))
            if name == 'runner_on_failed' and not fixes:
                self.progress.line('%s: task failed: %s' % (where, _first_line(res.get('msg')) or data.get('task')))
        elif name == 'runner_on_unreachable':
            self.progress.line('%s: UNREACHABLE: %s' % (where, _first_line((data.get('res') or {}).get('msg'))))
        return True


def _errors(runner):
    """Ansible's own error lines from the run's output (a broken inventory, a missing variable)."""
    try:
        text = runner.stdout.read()
    except (OSError, AttributeError, ValueError):
        return []
    found = []
    for line in text.splitlines():
        match = ERROR_LINE.match(line.strip())
        if match and match.group(1):
            found.append(_first_line(match.group(1)))
    return found


class Stop:
    """ansible-runner's cancel_callback: SIGINT, SIGTERM and SIGHUP (a closed terminal) while the run
    lasts stop ansible-playbook (ansible-runner looks every few seconds) and the run's directory is
    removed; ansible-runner alone would handle the first two only, and SIGHUP would leave it behind."""

    SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)

    def __init__(self):
        self.received = None
        self._old = {}

    def __enter__(self):
        if threading.current_thread() is threading.main_thread():
            for number in self.SIGNALS:
                self._old[number] = signal.signal(number, self._handler)
        return self

    def _handler(self, number, frame):
        self.received = number

    def __call__(self):
        return self.received is not None

    def __exit__(self, *exc):
        for number, old in self._old.items():
            signal.signal(number, old)


def run(collection, command, stages, inventories, progress, env=None, extravars=None, secrets=None):
    """Run ``command`` (scan or fix) for the local ``stages``; return the results report (dict).

    ``secrets`` (name -> value, the GitHub token) reach ansible-playbook's
    environment through its terminal (factiii_cli.secret_env), never a file:
    ansible-runner writes the command and the whole environment it starts to
    artifacts/<ident>/command, and a CLI killed with SIGKILL cannot remove it.
    The tokens of this shell are left out of that environment for the same reason.

    A run that fails without reporting any failed fix (Ansible could not even
    start the stage) raises a CliError with Ansible's error line.
    """
    import ansible_runner  # slow to import: only when a stage runs here

    check_mode = command == 'scan'
    workdir = tempfile.mkdtemp(prefix='factiii-runner.')  # 0700
    results = os.path.join(workdir, 'results.json')
    secrets = dict(secrets or {})
    nonce = token_hex(8)
    # ansible-runner answers each prompt from memory (passwords are not written with suppress_env_files)
    answers = dict((re.escape(secret_env.prompt(nonce, name).strip()), value) for name, value in secrets.items())
    envvars = dict((name, '') for name in remote.TOKEN_NAMES)
    envvars.update(env or {})
    if collection.config_file and not os.environ.get('ANSIBLE_CONFIG'):
        # ansible-runner starts ansible-playbook in its own directory: keep the
        # ansible.cfg that is in force here (forks, SSH settings, interpreter).
        envvars['ANSIBLE_CONFIG'] = collection.config_file
    envvars.update({
        # the collection found first, then the other collections as configured here
        'ANSIBLE_COLLECTIONS_PATH': os.pathsep.join([collection.base] + collection.searched),
        'ANSIBLE_CALLBACKS_ENABLED': 'factiii.infra.results_by_stage',
        'FACTIII_RESULTS_JSON': results,
        # ansible-runner turns host key checking off unless told otherwise;
        # this collection never does.
        'ANSIBLE_HOST_KEY_CHECKING': 'True',
        # a broken inventory is an error, not "no hosts matched" (as in the collection's ansible.cfg)
        'ANSIBLE_INVENTORY_UNPARSED_FAILED': 'True',
        'ANSIBLE_INVENTORY_ANY_UNPARSED_IS_FAILED': 'True',
        'ANSIBLE_NOCOLOR': '1',
        'ANSIBLE_FORCE_COLOR': '0',
    })
    try:
        with Stop() as stop:
            runner = ansible_runner.run(
                private_data_dir=workdir,
                # ansible-playbook factiii.infra.<command>, started by secret_env with the secrets
                binary=sys.executable,
                cmdline=shlex.join(['-P', '-m', 'factiii_cli.secret_env', nonce] + sorted(secrets) + [
                    '--', 'ansible-playbook', 'factiii.infra.%s' % command]),
                passwords=answers,
                inventory=list(inventories),
                limit=','.join(stages),
                envvars=envvars,
                extravars=extravars or None,
                event_handler=Events(progress, check_mode),
                cancel_callback=stop,
                quiet=True,
                # keep the environment and variables out of env/ files on disk
                suppress_env_files=True,
            )
        if stop.received is not None:
            raise KeyboardInterrupt
        report = None
        if os.path.exists(results):
            with open(results, 'rb') as handle:
                try:
                    report = collection.callback.load_results(handle.read())
                except ValueError as exc:
                    raise CliError('the local run of %s wrote a results file that cannot be used: %s' % (
                        ', '.join(stages), exc)) from None
        failed = bool(report and report.get('total', {}).get('failed'))
        if runner.rc != 0 and not failed:
            errors = _errors(runner)
            raise CliError('the local run of %s (%s) failed before reporting a failed fix: %s' % (
                ', '.join(stages), 'factiii.infra.%s' % command,
                errors[0] if errors else 'ansible-playbook exited %s (status %s)' % (runner.rc, runner.status)))
        return report or {'check_mode': check_mode, 'stages': {}}
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
