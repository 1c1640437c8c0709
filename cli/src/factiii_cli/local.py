"""Stages run on this machine, through ansible-runner in this process.

One ansible-runner run of the collection's playbook (factiii.infra.scan or
factiii.infra.fix) limited to the local stages, with the results_by_stage
callback writing its JSON to a private temporary file. Each stage is ONE module
execution per host (factiii.infra.stage), so its fixes' results all arrive when
that task ends: the progress shows a line when a stage starts on a host, then one
line per fix as soon as the stage's task result comes in.
"""
import json
import os
import re
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from secrets import token_hex

from factiii_cli import remote, secret_env
from factiii_cli.errors import CliError

# Ansible's error lines, and secret_env's (ansible-playbook could not be started)
ERROR_LINE = re.compile(r'^(?:\[ERROR\]:|ERROR!|factiii:)\s*(.*)$')
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


class Interrupted(KeyboardInterrupt):
    """The local run was stopped by a signal; ``report``: what ansible-playbook reported before it ended
    (its stages still running as <stage>-interrupted rows), or None when it wrote nothing."""

    def __init__(self, report):
        super().__init__()
        self.report = report


class Events:
    """The ansible-runner event handler: progress lines for the local stages."""

    def __init__(self, progress, check_mode, stop=None):
        self.progress = progress
        self.check_mode = check_mode
        self.stop = stop

    def __call__(self, event):
        data = event.get('event_data') or {}
        name = event.get('event')
        if name == 'playbook_on_start' and self.stop is not None:
            self.stop.started(event.get('pid'))
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
            # the report task fails the run when a fix failed: the table says it, not a progress line
            action = '%s' % data.get('resolved_action', data.get('task_action', ''))
            if name == 'runner_on_failed' and not fixes and not action.endswith('.report'):
                self.progress.line('%s: task failed: %s' % (where, _first_line(res.get('msg')) or data.get('task')))
        elif name == 'runner_on_unreachable':
            self.progress.line('%s: UNREACHABLE: %s' % (where, _first_line((data.get('res') or {}).get('msg'))))
        return True


def find_ansible(name='ansible-playbook'):
    """``name`` next to this interpreter (a venv's bin/, which need not be on PATH), else on PATH;
    a CliError saying where it looked when neither has it."""
    # sys.executable as started (a venv's bin/python is a symlink out of the venv: not resolved)
    beside = os.path.join(os.path.dirname(sys.executable), name) if sys.executable else None
    if beside and os.path.isfile(beside) and os.access(beside, os.X_OK):
        return beside
    found = shutil.which(name)
    if found:
        return os.path.abspath(found)
    raise CliError('%s not found: looked next to this Python (%s) and on PATH (%s): install ansible-core '
                   'where the factiii command is installed' % (
                       name, os.path.dirname(sys.executable) or '?', os.environ.get('PATH', '')))


def here(path):
    """A path the user typed, made absolute against the directory the CLI was started in
    (ansible-runner starts ansible-playbook elsewhere). An inventory may also be a host list
    ("web1,web2"): that is kept as typed."""
    if ',' in path and not os.path.exists(path):
        return path
    return os.path.abspath(os.path.expanduser(path))


def environment(collection, env=None):
    """The environment of ansible-playbook (and ansible-inventory) in a local run: the guarantees
    of the collection's ansible.cfg, whatever configuration is in force here."""
    envvars = dict((name, '') for name in remote.TOKEN_NAMES)
    envvars.update(env or {})
    if collection.config_file:
        # ansible-runner starts ansible-playbook in its own directory: keep the ansible.cfg in
        # force here (forks, SSH settings, interpreter; relative paths in it are relative to it),
        # by its absolute path (ANSIBLE_CONFIG may have named it relative to this directory).
        envvars['ANSIBLE_CONFIG'] = collection.config_file
    envvars.update({
        # the collection found first, then the other collections as configured here
        'ANSIBLE_COLLECTIONS_PATH': os.pathsep.join([collection.base] + collection.searched),
        'ANSIBLE_CALLBACKS_ENABLED': 'factiii.infra.results_by_stage',
        # ansible-runner turns host key checking off unless told otherwise;
        # this collection never does.
        'ANSIBLE_HOST_KEY_CHECKING': 'True',
        # a broken inventory is an error, not "no hosts matched" (as in the collection's ansible.cfg)
        'ANSIBLE_INVENTORY_UNPARSED_FAILED': 'True',
        'ANSIBLE_INVENTORY_ANY_UNPARSED_IS_FAILED': 'True',
        'ANSIBLE_NOCOLOR': '1',
        'ANSIBLE_FORCE_COLOR': '0',
    })
    return envvars


def _true(value):
    return ('%s' % value).strip().lower() not in ('false', 'no', 'off', '0', 'n', 'f', '')


def _group_hosts(groups, name, seen=None):
    seen = set() if seen is None else seen
    if name in seen or not isinstance(groups.get(name), dict):
        return []
    seen.add(name)
    hosts = list(groups[name].get('hosts') or [])
    for child in groups[name].get('children') or []:
        hosts.extend(h for h in _group_hosts(groups, child, seen) if h not in hosts)
    return hosts


def can_become_root():
    """True when this process is root or sudo runs without a password here."""
    if os.geteuid() == 0:
        return True
    sudo = shutil.which('sudo')
    if not sudo:
        return False
    try:
        return subprocess.run([sudo, '-n', 'true'], stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL, timeout=30, check=False).returncode == 0
    except (OSError, subprocess.SubprocessError):
        return False


def check_on_server(collection, stages, inventories):
    """What --on-server needs, checked before anything runs (a CliError naming the first thing missing):
    each stage's group in the inventory has hosts, all with ``ansible_connection: local`` (this
    machine, no SSH), and this user is root or has passwordless sudo when the stage becomes root
    (``<stage>_become``, true by default). An inventory that does not parse is left to the run,
    which reports Ansible's own error line."""
    argv = [find_ansible('ansible-inventory'), '--list']
    for inventory in inventories:
        argv += ['-i', inventory]
    try:
        proc = subprocess.run(argv, env=dict(os.environ, **environment(collection)), stdin=subprocess.DEVNULL,
                              capture_output=True, text=True, timeout=300, check=False)
        data = json.loads(proc.stdout) if proc.returncode == 0 else None
    except (OSError, subprocess.SubprocessError, ValueError):
        data = None
    if not isinstance(data, dict):
        return
    hostvars = (data.get('_meta') or {}).get('hostvars') or {}
    where = ', '.join(inventories)
    for stage in stages:
        hosts = _group_hosts(data, stage)
        if not hosts:
            raise CliError('--on-server runs the %s stage on this machine, but the %s group of %s has no host: '
                           'put this machine in it with ansible_connection: local (as in the collection\'s '
                           'inventories/on-server/hosts.yml)' % (stage, stage, where))
        for host in hosts:
            variables = hostvars.get(host) or {}
            connection = '%s' % variables.get('ansible_connection', 'ssh')
            if connection != 'local' and '{{' not in connection:
                raise CliError('--on-server runs the %s stage on this machine, but %s in the %s group of %s has '
                               'ansible_connection: %s: give it ansible_connection: local, or use --inventory %s'
                               % (stage, host, stage, where, connection,
                                  collection.path('inventories', 'on-server', 'hosts.yml')))
            if _true(variables.get('%s_become' % stage, True)) and not can_become_root():
                raise CliError('--on-server runs the %s stage as root (%s_become), but this user is not root and '
                               'sudo -n does not work: run factiii as root, give this user passwordless sudo, '
                               'or set %s_become: false' % (stage, stage, stage))


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
    """ansible-runner's cancel_callback, and this process's SIGINT, SIGTERM and SIGHUP (a closed terminal)
    handlers while the run lasts.

    The first signal goes on to ansible-playbook (SIGINT as it is, the others as SIGTERM), whose
    results_by_stage callback then prints the report and writes the JSON, each stage still running a
    <stage>-interrupted row, and ends; the run then returns as usual, so the CLI prints that report.
    ansible-runner's own cancel kills ansible-playbook's process group with SIGKILL (no report): it is
    used only before ansible-playbook started its playbook (nothing ran yet), when it has not ended
    GRACE seconds after the signal, or at a second signal. The run's directory is removed either way.
    """

    SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
    GRACE = 60

    def __init__(self):
        self.received = None
        self._old = {}
        self._target = None
        self._cancel_at = None

    def __enter__(self):
        if threading.current_thread() is threading.main_thread():
            for number in self.SIGNALS:
                self._old[number] = signal.signal(number, self._handler)
        return self

    def started(self, pid):
        """ansible-playbook ``pid`` (its playbook_on_start event) runs its playbook: signals go to it."""
        try:
            # ansible-runner starts it in a session of its own: it leads its process group
            self._target = pid if isinstance(pid, int) and pid > 1 and os.getpgid(pid) == pid else None
        except OSError:
            self._target = None

    def _handler(self, number, frame):
        if self.received is not None:
            self._cancel_at = 0  # a second signal: stop now
            return
        self.received = number
        self._cancel_at = time.monotonic() + self.GRACE
        try:
            if self._target is None:
                raise ProcessLookupError
            os.kill(self._target, signal.SIGINT if number == signal.SIGINT else signal.SIGTERM)
        except OSError:
            self._cancel_at = 0

    def __call__(self):
        return self.received is not None and time.monotonic() >= self._cancel_at

    def __exit__(self, *exc):
        for number, old in self._old.items():
            signal.signal(number, old)


def _results(collection, path, stages):
    """The report ansible-playbook wrote to ``path`` (None when it wrote none); a CliError when unusable."""
    if not os.path.exists(path):
        return None
    with open(path, 'rb') as handle:
        try:
            return collection.results.load_results(handle.read())
        except ValueError as exc:
            raise CliError('the local run of %s wrote a results file that cannot be used: %s' % (
                ', '.join(stages), exc)) from None


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

    playbook = find_ansible('ansible-playbook')  # before the run: one line, not "exited 127"
    check_mode = command == 'scan'
    workdir = tempfile.mkdtemp(prefix='factiii-runner.')  # 0700
    results = os.path.join(workdir, 'results.json')
    secrets = dict(secrets or {})
    nonce = token_hex(8)
    # ansible-runner answers each prompt from memory (passwords are not written with suppress_env_files)
    answers = dict((re.escape(secret_env.prompt(nonce, name).strip()), value) for name, value in secrets.items())
    envvars = environment(collection, env)
    envvars['FACTIII_RESULTS_JSON'] = results
    try:
        with Stop() as stop:
            runner = ansible_runner.run(
                private_data_dir=workdir,
                # ansible-playbook factiii.infra.<command>, started by secret_env with the secrets
                binary=sys.executable,
                cmdline=shlex.join(['-P', '-m', 'factiii_cli.secret_env', nonce] + sorted(secrets) + [
                    '--', playbook, 'factiii.infra.%s' % command]),
                passwords=answers,
                inventory=[here(i) for i in inventories],  # runner runs elsewhere
                limit=','.join(stages),
                envvars=envvars,
                extravars=extravars or None,
                event_handler=Events(progress, check_mode, stop),
                cancel_callback=stop,
                quiet=True,
                # keep the environment and variables out of env/ files on disk
                suppress_env_files=True,
            )
        if stop.received is not None:
            try:
                interrupted = _results(collection, results, stages)
            except CliError:
                interrupted = None
            raise Interrupted(interrupted)
        report = _results(collection, results, stages)
        failed = bool(report and report.get('total', {}).get('failed'))
        if runner.rc != 0 and not failed:
            errors = _errors(runner)
            raise CliError('the local run of %s (%s) failed before reporting a failed fix: %s' % (
                ', '.join(stages), 'factiii.infra.%s' % command,
                errors[0] if errors else 'ansible-playbook (%s) could not be started (exit 127)' % playbook
                if runner.rc == 127 else 'ansible-playbook exited %s (status %s)' % (runner.rc, runner.status)))
        return report or {'check_mode': check_mode, 'stages': {}}
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
