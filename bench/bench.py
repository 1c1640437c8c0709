"""The stage-batching benchmark behind bench/run: prints the table of issue 7.

On N throwaway SSH test hosts (tests/testhost.py; N = 1, 5, 20) of two kinds,
converged (nothing to fix) and bare (the plain test image), it times the scan
and the fix of the staging stage and runs the same seven checks six other ways,
each measured the same way:

* wall time of the whole command (median of the repetitions);
* SSH authentications and SSH sessions per host, counted in each host's sshd
  journal ("Accepted publickey" and "Starting session:" lines; sshd runs with
  LogLevel VERBOSE, which logs one "Starting session" per exec, shell or
  subsystem channel, so it counts command round trips and sftp transfers);
* peak memory of the controller's process tree, polled from /proc every
  0.1 s: the sum of Rss and the sum of Pss over every descendant of this
  process (a child subreaper, so ssh ControlPersist masters that detach are
  still counted);
* for a fix of a bare host, the package-manager transactions on the host
  (Start-Date entries added to /var/log/apt/history.log).

Variants: (a) one ssh per host running bench/checks.sh; (b) a stock playbook
of ansible.builtin modules, no pipelining, no ControlPersist; (c) the same
with both; (d) factiii, one task per fix; (e) factiii's one-batch stage (the
product: playbooks/scan.yml and fix.yml); (f) ansible-playbook with one raw
task running bench/checks.sh; (g) pyinfra, the same checks as operations.

--baseline REF adds (e) REF: the converged scan of (e) with the collection,
playbooks and ansible.cfg of a git ref of this repository, on the same hosts,
interleaved with (e) in every repetition (before/after a change in one run).
"""
import argparse
import ctypes
import glob
import hashlib
import json
import os
import platform
import shlex
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(ROOT, 'tests'))
import testhost  # noqa: E402  pylint: disable=wrong-import-position

VARIANTS = ('a', 'b', 'c', 'd', 'e', 'f', 'g')
VARIANT_NAMES = {
    'a': 'ssh sh -c (floor)',
    'b': 'stock, no pipelining/CP',
    'c': 'stock + pipelining/CP',
    'd': 'factiii per-fix tasks',
    'e': 'factiii stage',
    'f': 'ansible raw task',
    'g': 'pyinfra',
}
# Loopback ports of this benchmark's hosts (23300-23399 belong to it).
PORTS = {'converged': 23300, 'bare': 23330, 'fresh': 23360, 'source': 23390}
CONVERGED_IMAGE = 'factiii-bench-converged'
APP = {'url': 'file:///srv/git/app.git', 'dest': '/srv/app', 'version': 'v1', 'pnpm': '9.15.0'}
STAGING_VARS = {
    'staging_repo_url': APP['url'],
    'staging_repo_dest': APP['dest'],
    'staging_repo_version': APP['version'],
    # Debian 12's nodejs is 18; asking for 20 would make node-missing manual.
    'staging_node_min_major': 18,
    # As inventories/example recommends for Debian/Ubuntu servers: no
    # interpreter discovery round trip (every Ansible variant gets it).
    'ansible_python_interpreter': '/usr/bin/python3',
}
# -t sshd (the syslog identifier), not -u ssh: once a session is open, pam_systemd
# moves sshd's connection process into the session's scope, out of ssh.service.
SSHD_COUNTS = ("journalctl -t sshd --no-pager -o cat | "
               "awk '/Accepted publickey/{a++} /Starting session:/{s++} END{print a+0, s+0}'")
APT_TRANSACTIONS = "grep -c '^Start-Date:' /var/log/apt/history.log 2>/dev/null || true"
PR_SET_CHILD_SUBREAPER = 36
# --baseline REF: (e) again with the tree of REF, a variant of its own ('r'; not in
# VARIANTS: only --baseline adds it, and the existing tables stay as they are).
BASELINE = 'r'


class BenchError(Exception):
    """A clear one-line reason to stop the run."""


def log(msg):
    sys.stderr.write('[bench %s] %s\n' % (time.strftime('%H:%M:%S'), msg))
    sys.stderr.flush()


def run(argv, **kw):
    return subprocess.run(argv, capture_output=True, text=True, check=True, **kw)


def load():
    with open('/proc/loadavg', encoding='utf-8') as handle:
        return handle.read().split()[:3]


# -- controller memory --------------------------------------------------------

def become_subreaper():
    """Orphans of our children (ControlPersist masters) re-parent to us."""
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) != 0:
        log('prctl(PR_SET_CHILD_SUBREAPER) failed: detached ssh masters are not counted')


def reap_orphans():
    """Reap exited orphans re-parented to us (ssh masters after -O exit).
    Called only when none of our own subprocesses is running."""
    while True:
        try:
            pid, _status = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return


def descendants(root):
    children = {}
    for entry in os.listdir('/proc'):
        if not entry.isdigit():
            continue
        try:
            with open('/proc/%s/stat' % entry, 'rb') as handle:
                data = handle.read()
        except OSError:
            continue
        ppid = int(data.rsplit(b')', 1)[1].split()[1])
        children.setdefault(ppid, []).append(int(entry))
    found, stack = [], [root]
    while stack:
        for child in children.get(stack.pop(), []):
            found.append(child)
            stack.append(child)
    return found


def rss_pss_kb(pid):
    try:
        with open('/proc/%d/smaps_rollup' % pid, encoding='utf-8') as handle:
            text = handle.read()
    except OSError:
        return 0, 0
    values = {}
    for line in text.splitlines():
        key, _sep, rest = line.partition(':')
        if key in ('Rss', 'Pss'):
            values[key] = int(rest.split()[0])
    return values.get('Rss', 0), values.get('Pss', 0)


class TreeSampler(threading.Thread):
    """Peak sum of Rss and of Pss over every descendant of this process."""

    def __init__(self, interval=0.1):
        super().__init__(daemon=True)
        self.interval = interval
        self.peak_rss = 0
        self.peak_pss = 0
        self.peak_procs = 0
        self._stop_event = threading.Event()

    def run(self):
        me = os.getpid()
        while not self._stop_event.is_set():
            pids = descendants(me)
            rss = pss = 0
            for pid in pids:
                one_rss, one_pss = rss_pss_kb(pid)
                rss += one_rss
                pss += one_pss
            self.peak_rss = max(self.peak_rss, rss)
            self.peak_pss = max(self.peak_pss, pss)
            self.peak_procs = max(self.peak_procs, len(pids))
            self._stop_event.wait(self.interval)

    def stop(self):
        self._stop_event.set()
        self.join()


# -- hosts --------------------------------------------------------------------

class BenchHosts(testhost.TestHosts):
    """tests/testhost.py's hosts, with what the bench counts on them."""

    __test__ = False

    def __init__(self, prefix, count, workdir, base_port, image=testhost.IMAGE):
        os.makedirs(workdir, exist_ok=True)
        super().__init__(prefix, count, workdir, base_port, image=image)

    def each(self, func):
        with ThreadPoolExecutor(max_workers=8) as pool:
            return list(pool.map(func, self.hosts))

    def sshd_counts(self):
        def one(host):
            auths, sessions = host.exec(SSHD_COUNTS).stdout.split()
            return int(auths), int(sessions)
        return self.each(one)

    def apt_transactions(self):
        return self.each(lambda host: int(host.exec(APT_TRANSACTIONS).stdout.strip() or 0))

    def put_repo(self, bare_repo):
        def one(host):
            host.exec('mkdir -p /srv/git')
            run(['docker', 'cp', bare_repo, '%s:/srv/git/app.git' % host.name])
        self.each(one)


def make_app_repo(workdir):
    """The app: package.json naming pnpm 9.15.0, tag v1, as a bare repo."""
    work = os.path.join(workdir, 'app-work')
    bare = os.path.join(workdir, 'app.git')
    env = dict(os.environ, GIT_AUTHOR_NAME='bench', GIT_AUTHOR_EMAIL='bench@factiii.invalid',
               GIT_COMMITTER_NAME='bench', GIT_COMMITTER_EMAIL='bench@factiii.invalid')
    run(['git', 'init', '-q', '-b', 'main', work])
    with open(os.path.join(work, 'package.json'), 'w', encoding='utf-8') as handle:
        handle.write('{"name": "app", "private": true, "packageManager": "pnpm@%s"}\n' % APP['pnpm'])
    run(['git', '-C', work, 'add', '.'], env=env)
    run(['git', '-C', work, 'commit', '-q', '-m', 'v1'], env=env)
    run(['git', '-C', work, 'tag', APP['version']], env=env)
    run(['git', 'clone', '-q', '--bare', work, bare])
    return bare


# -- one measured run ---------------------------------------------------------

class Measurement:
    def __init__(self, variant, mode, wall, ok, auths, sessions, rss_kb, pss_kb, note=''):
        self.variant = variant
        self.mode = mode
        self.wall = wall
        self.ok = ok
        self.auths = auths          # per host
        self.sessions = sessions    # per host
        self.rss_kb = rss_kb
        self.pss_kb = pss_kb
        self.note = note
        self.apt = None             # package transactions per host (fixes)
        self.after = None           # sshd counts after the run
        self.cpu = None             # controller CPU seconds (user + system)

    def as_dict(self):
        return dict(self.__dict__)


class Bench:
    def __init__(self, args, workdir):
        self.args = args
        self.workdir = workdir
        self.collections = os.path.join(workdir, 'collections')
        self.logs = os.path.join(workdir, 'logs')
        os.makedirs(self.logs, exist_ok=True)
        self.bare_repo = None
        self.runs = []
        self.counter = 0
        self.forks = None           # ANSIBLE_FORKS; None: one fork per host
        # variant -> (source tree: playbooks and ansible.cfg, collections path) of
        # the Ansible variants; --baseline adds BASELINE with the tree of its ref.
        self.trees = {}
        self.baseline = None        # {'ref', 'commit'} of --baseline
        self.keep = False           # keep the work directory (its logs) whatever --keep says
        # (prefix, port) of the host converged_image builds on: another benchmark sets its own
        self.source_host = ('bench-source', PORTS['source'])

    def tree(self, variant):
        return self.trees.get(variant, (ROOT, self.collections))

    # -- setup ------------------------------------------------------------
    def install_collection(self, source=ROOT, build=None, collections=None):
        build = build or os.path.join(self.workdir, 'build')
        run(['ansible-galaxy', 'collection', 'build', '--force', '--output-path', build, source])
        tarball = glob.glob(os.path.join(build, 'factiii-infra-*.tar.gz'))[0]
        run(['ansible-galaxy', 'collection', 'install', '--force', '--no-deps', '-p', collections or self.collections,
             tarball])

    def install_baseline(self, ref):
        """The tree of a git ref of this repository (git archive: the repository's
        worktrees stay as they are) under the work directory, its collection built
        and installed there: the BASELINE variant runs its playbooks and ansible.cfg."""
        found = subprocess.run(['git', '-C', ROOT, 'rev-parse', '--verify', '--quiet', ref + '^{commit}'],
                               capture_output=True, text=True, check=False)
        if found.returncode != 0:
            raise BenchError('--baseline %s: not a commit of this repository' % ref)
        commit = found.stdout.strip()
        base = os.path.join(self.workdir, 'baseline')
        source = os.path.join(base, 'tree')
        os.makedirs(source)
        archive = subprocess.run(['git', '-C', ROOT, 'archive', '--format=tar', commit], capture_output=True,
                                 check=True).stdout
        subprocess.run(['tar', '-x', '-C', source], input=archive, check=True)
        for path in ('galaxy.yml', 'ansible.cfg', 'playbooks/scan.yml'):
            if not os.path.isfile(os.path.join(source, path)):
                raise BenchError('--baseline %s: its tree has no %s' % (ref, path))
        collections = os.path.join(base, 'collections')
        try:
            self.install_collection(source, os.path.join(base, 'build'), collections)
        except subprocess.CalledProcessError as exc:
            raise BenchError('--baseline %s: its collection does not build: %s' % (
                ref, (exc.stderr or '').strip().splitlines()[-1:] or exc)) from exc
        self.trees[BASELINE] = (source, collections)
        self.baseline = {'ref': ref, 'commit': commit[:7]}
        log('baseline %s = %s: collection installed from %s' % (ref, commit[:7], source))

    def check_baseline(self, m):
        """The baseline's scan must find the converged hosts (built by this tree)
        converged too: otherwise the two rows do not measure the same work."""
        if not (m.ok and m.note == 'fixed 0'):
            self.keep = True
            raise BenchError('(e) %s did not say fixed 0 on the converged hosts built by this tree (%s): '
                             'see its log in %s' % (self.baseline['ref'], m.note or 'no report', self.logs))

    def converged_image(self):
        """Converge one bare host once (factiii fix, then the stock playbook's
        fix, which adds the python3-apt its check mode needs), commit it."""
        digest = hashlib.sha256()
        digest.update(run(['docker', 'image', 'inspect', '-f', '{{.Id}}', testhost.IMAGE]).stdout.encode())
        digest.update(json.dumps(APP, sort_keys=True).encode())
        files = ['galaxy.yml', 'bench/playbooks/stock.yml', 'bench/ansible-stock.cfg']
        for sub in ('plugins', 'roles', 'playbooks'):
            files += sorted(glob.glob(os.path.join(ROOT, sub, '**', '*'), recursive=True))
        for path in files:
            path = os.path.join(ROOT, path)
            if os.path.isfile(path) and '__pycache__' not in path:
                digest.update(path.encode())
                with open(path, 'rb') as handle:
                    digest.update(handle.read())
        image = '%s:%s' % (CONVERGED_IMAGE, digest.hexdigest()[:12])
        if subprocess.run(['docker', 'image', 'inspect', image], capture_output=True, check=False).returncode == 0:
            log('converged image %s is up to date' % image)
            return image
        log('building the converged image %s (fix of one bare host, then docker commit)' % image)
        prefix, port = self.source_host
        with BenchHosts(prefix, 1, os.path.join(self.workdir, 'source'), port) as hosts:
            hosts.put_repo(self.bare_repo)
            inventory = hosts.inventory({'staging': hosts.names}, {'staging': STAGING_VARS})
            fix = self.measure('e', 'fix', hosts, inventory)
            assert fix.ok, 'the converge fix failed, see %s' % self.logs
            stock = self.measure('b', 'fix', hosts, inventory)
            assert stock.ok, 'the stock fix on the converged host failed, see %s' % self.logs
            scan = self.measure('e', 'scan', hosts, inventory)
            assert scan.ok and scan.note == 'fixed 0', 'the converged host is not converged: %s' % scan.note
            # dockerd renames directories under /var/lib/docker at start, which fails
            # on an image layer (overlayfs: "invalid cross-device link"): leave it
            # out of the image, dockerd makes a new one at boot.
            hosts[0].exec('systemctl stop docker.socket docker containerd && rm -rf /var/lib/docker /var/lib/containerd '
                          '&& apt-get clean && rm -f /root/.ssh/authorized_keys')
            run(['docker', 'commit', '-c', 'LABEL factiii.bench=converged', hosts[0].name, image])
        self.runs = []
        return image

    # -- variants -----------------------------------------------------------
    def ansible_env(self, cfg, count, cp_dir, results=None, collections=None):
        env = dict(os.environ, ANSIBLE_CONFIG=cfg, ANSIBLE_COLLECTIONS_PATH=collections or self.collections,
                   ANSIBLE_FORKS=str(self.forks or max(count, 1)), ANSIBLE_SSH_CONTROL_PATH_DIR=cp_dir,
                   ANSIBLE_NOCOLOR='1', ANSIBLE_DEPRECATION_WARNINGS='False',
                   ANSIBLE_LOCAL_TEMP=os.path.join(self.workdir, 'ansible-local'))
        if results:
            env['FACTIII_RESULTS_JSON'] = results
        return env

    def command(self, variant, mode, hosts, inventory, cp_dir, results):
        """argv lists (one per process started at once) and the environment."""
        scan = mode == 'scan'
        count = len(hosts.hosts)
        if variant == 'a':
            with open(os.path.join(HERE, 'checks.sh'), encoding='utf-8') as handle:
                remote = 'sh -c %s' % shlex.quote(handle.read())
            return [hosts.ssh_argv(host) + [remote] for host in hosts.hosts], None
        if variant == 'g':
            # --dry: change detection (facts gathered, proposed changes printed), then exit;
            # -y (the fix) skips that detection and executes.
            argv = ['pyinfra', '--dry' if scan else '-y', '--sudo', '--parallel', str(count),
                    self.pyinfra_inventory(hosts), os.path.join(HERE, 'pyinfra', 'deploy.py')]
            return [argv], None
        check = ['--check'] if scan else []
        if variant == BASELINE:
            # (e)'s scan, from the baseline's own tree (playbooks, ansible.cfg, collection)
            source, collections = self.tree(variant)
            argv = ['ansible-playbook', '-i', inventory, os.path.join(source, 'playbooks', '%s.yml' % mode)]
            return [argv], self.ansible_env(os.path.join(source, 'ansible.cfg'), count, cp_dir, results, collections)
        book = {
            'b': ('bench/playbooks/stock.yml', 'bench/ansible-stock.cfg'),
            'c': ('bench/playbooks/stock.yml', 'bench/ansible-stock-fast.cfg'),
            'd': ('bench/playbooks/perfix.yml', 'ansible.cfg'),
            'e': ('playbooks/%s.yml' % mode, 'ansible.cfg'),
            'f': ('bench/playbooks/raw.yml', 'ansible.cfg'),
        }[variant]
        if variant in ('e', 'f'):
            check = []  # scan.yml is check mode itself; raw's task only reads
        argv = ['ansible-playbook', '-i', inventory] + check + [os.path.join(ROOT, book[0])]
        return [argv], self.ansible_env(os.path.join(ROOT, book[1]), count, cp_dir, results)

    def pyinfra_inventory(self, hosts):
        path = os.path.join(hosts.workdir, 'pyinfra_inventory.py')
        if not os.path.exists(path):
            entries = []
            for host in hosts.hosts:
                entries.append((host.name, {
                    'ssh_hostname': '127.0.0.1', 'ssh_port': host.port, 'ssh_user': 'root',
                    'ssh_key': hosts.key, 'ssh_known_hosts_file': hosts.known_hosts,
                    'ssh_strict_host_key_checking': 'yes', 'ssh_allow_agent': False,
                    'ssh_look_for_keys': False}))
            with open(path, 'w', encoding='utf-8') as handle:
                handle.write('"""pyinfra inventory written by bench/bench.py."""\nstaging = %r\n' % (entries,))
        return path

    # -- measure ------------------------------------------------------------
    def measure(self, variant, mode, hosts, inventory, counts_before=None):
        self.counter += 1
        tag = '%03d-%s-%s-n%d' % (self.counter, variant, mode, len(hosts.hosts))
        cp_dir = tempfile.mkdtemp(prefix='cp-', dir=self.workdir)
        results = os.path.join(self.workdir, 'logs', tag + '.json')
        argvs, env = self.command(variant, mode, hosts, inventory, cp_dir, results)
        before = counts_before or hosts.sshd_counts()
        apt_before = hosts.apt_transactions() if mode == 'fix' else None
        outputs = [os.path.join(self.logs, '%s.%d.log' % (tag, i)) for i in range(len(argvs))]
        sampler = TreeSampler()
        sampler.start()
        start = time.monotonic()
        procs = []
        for argv, out in zip(argvs, outputs):
            with open(out, 'w', encoding='utf-8') as handle:
                procs.append(subprocess.Popen(argv, env=env, cwd=self.tree(variant)[0], stdout=handle,  # pylint: disable=consider-using-with
                                              stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL))
        cpu = 0.0
        for proc in procs:
            # wait4: the CPU time of the child and of every descendant it waited for
            _pid, status, usage = os.wait4(proc.pid, 0)
            proc.returncode = os.waitstatus_to_exitcode(status)
            cpu += usage.ru_utime + usage.ru_stime
        codes = [proc.returncode for proc in procs]
        wall = time.monotonic() - start
        sampler.stop()
        self.close_masters(cp_dir)
        reap_orphans()
        after = hosts.sshd_counts()
        m = Measurement(variant, mode, wall, all(code == 0 for code in codes),
                        [a[0] - b[0] for a, b in zip(after, before)],
                        [a[1] - b[1] for a, b in zip(after, before)],
                        sampler.peak_rss, sampler.peak_pss)
        m.cpu = cpu
        m.note = self.verdict(variant, outputs, results, codes)
        if apt_before is not None:
            m.apt = [a - b for a, b in zip(hosts.apt_transactions(), apt_before)]
        m.after = after
        log('%-22s %6.2fs cpu %5.2fs %s auth/host %s sessions/host %s PSS %dMB %s%s' % (
            tag, wall, cpu, 'ok ' if m.ok else 'ERR', _span(m.auths), _span(m.sessions), m.pss_kb // 1024, m.note,
            ' apt transactions/host %s' % _span(m.apt) if m.apt else ''))
        return m

    @staticmethod
    def close_masters(cp_dir):
        for sock in glob.glob(os.path.join(cp_dir, '*')):
            subprocess.run(['ssh', '-o', 'ControlPath=%s' % sock, '-O', 'exit', 'bench'],
                           capture_output=True, check=False)
        shutil.rmtree(cp_dir, ignore_errors=True)

    @staticmethod
    def verdict(variant, outputs, results, codes):
        """A short check that the run did the work: counts of the factiii
        report, or the checks' answers, or the failure line."""
        text = ''
        for out in outputs:
            with open(out, encoding='utf-8') as handle:
                text += handle.read()
        if variant in ('d', 'e', BASELINE) and os.path.exists(results):
            with open(results, encoding='utf-8') as handle:
                total = json.load(handle)['total']
            return 'fixed %d' % total['fixed'] + ''.join(
                ', %s %d' % (k, total[k]) for k in ('manual', 'failed') if total[k])
        if variant == 'a':
            return 'would-fix lines %d' % text.count(': would ')
        if any(codes):
            for line in text.splitlines():
                if 'python3-apt must be installed' in line:
                    return 'fails: apt check mode needs python3-apt'
            return 'exit %s' % ','.join(str(c) for c in sorted(set(codes)))
        return ''


def _span(values):
    if not values:
        return '-'
    low, high = min(values), max(values)
    return str(low) if low == high else '%d-%d' % (low, high)


# -- the plan -------------------------------------------------------------------

def median(values):
    return statistics.median(values) if values else None


class Plan:
    def __init__(self, bench, args):
        self.bench = bench
        self.args = args
        self.cells = {}   # (kind, n, variant, mode) -> [Measurement]
        self.on_add = None

    def add(self, kind, count, m):
        self.cells.setdefault((kind, count, m.variant, m.mode), []).append(m)
        if self.on_add:
            self.on_add()

    def hosts(self, kind, count, image, tag=''):
        workdir = os.path.join(self.bench.workdir, '%s-%d%s' % (kind, count, tag))
        return BenchHosts('bench-%s' % kind, count, workdir, PORTS[kind], image=image)

    def sweep(self, kind, count, image):
        with self.hosts(kind, count, image) as hosts:
            if kind == 'bare':
                hosts.put_repo(self.bench.bare_repo)
            inventory = hosts.inventory({'staging': hosts.names}, {'staging': STAGING_VARS})
            counts = hosts.sshd_counts()
            for rep in range(self.args.reps):
                for variant in self.rep_variants(kind, rep):
                    m = self.bench.measure(variant, 'scan', hosts, inventory, counts)
                    counts = m.after
                    self.add(kind, count, m)
                    if variant == BASELINE:
                        self.bench.check_baseline(m)
                log('%s N=%d: scan repetition %d/%d done, load %s'
                    % (kind, count, rep + 1, self.args.reps, ' '.join(load())))
            # A bare fix installs about 660 packages per host (apt-get with
            # Recommends): CPU- and disk-bound, so only the sizes asked for.
            fixes = self.args.reps if kind == 'converged' else (1 if count in self.args.bare_fix_sizes else 0)
            for _rep in range(fixes):
                m = self.bench.measure('e', 'fix', hosts, inventory)
                self.add(kind, count, m)
            if kind == 'converged' and count == max(self.args.size_list):
                self.forks_sweep(count, hosts, inventory)

    def rep_variants(self, kind, rep):
        """The variants of one repetition. With --baseline, on converged hosts, the
        baseline runs next to (e): after it in even repetitions, before it in odd
        ones, so that load and any warm-up fall on both alike."""
        variants = list(self.args.variants)
        if kind == 'converged' and self.bench.baseline:
            at = variants.index('e')
            variants.insert(at + 1 if rep % 2 == 0 else at, BASELINE)
        return variants

    def forks_sweep(self, count, hosts, inventory):
        """The converged scan of (e) and (f) with fewer forks than hosts: the
        controller's memory against the wall time (mode 'scan-forksK')."""
        for forks in [k for k in self.args.forks if k < count]:
            self.bench.forks = forks
            try:
                for _rep in range(self.args.reps):
                    for variant in ('e', 'f'):
                        m = self.bench.measure(variant, 'scan', hosts, inventory)
                        m.mode = 'scan-forks%d' % forks
                        self.add('converged', count, m)
            finally:
                self.bench.forks = None
            log('converged N=%d: forks=%d done' % (count, forks))

    def fresh_fixes(self):
        """Fix of a fresh bare host by (b) and (d): their package transactions."""
        for variant in [v for v in ('b', 'd') if v in self.args.variants]:
            with self.hosts('fresh', 1, testhost.IMAGE, '-' + variant) as hosts:
                hosts.put_repo(self.bench.bare_repo)
                inventory = hosts.inventory({'staging': hosts.names}, {'staging': STAGING_VARS})
                self.add('bare', 1, self.bench.measure(variant, 'fix', hosts, inventory))


# -- report -------------------------------------------------------------------

def fmt_s(value):
    return '-' if value is None else ('%.2f' % value)


def table(headers, rows):
    widths = [max(len(str(x)) for x in col) for col in zip(headers, *rows)]

    def line(cells):
        return '| ' + ' | '.join(str(c).ljust(w) for c, w in zip(cells, widths)) + ' |'
    out = [line(headers), '|' + '|'.join('-' * (w + 2) for w in widths) + '|']
    out += [line(r) for r in rows]
    return '\n'.join(out)


def cell_stats(ms):
    good = [m for m in ms if m.ok]
    if not good:
        return None
    return {
        'wall': median([m.wall for m in good]),
        'cpu': median([m.cpu or 0.0 for m in good]),
        'runs': len(good),
        'auths': _span([a for m in good for a in m.auths]),
        'sessions': _span([s for m in good for s in m.sessions]),
        'rss': max(m.rss_kb for m in good) / 1024.0,
        'pss': max(m.pss_kb for m in good) / 1024.0,
        'apt': _span([a for m in good for a in (m.apt or [])]) if any(m.apt for m in good) else '-',
        'note': good[-1].note,
    }


def report(plan, sizes, variants, machine, baseline=None):
    out = []
    cells = plan.cells
    out.append('## factiii staging stage (e): per N and host kind\n')
    rows = []
    for kind in ('converged', 'bare'):
        for n in sizes:
            scan = cell_stats(cells.get((kind, n, 'e', 'scan'), []))
            fix = cell_stats(cells.get((kind, n, 'e', 'fix'), []))
            if not scan:
                continue
            fixes = cells.get((kind, n, 'e', 'fix'), [])
            rows.append([kind, n, '%s / %s' % (fmt_s(scan['wall']), fmt_s(scan['cpu'])),
                         '%s (%s)' % (fmt_s(fix['wall']), fix['note']) if fix else ('FAILED' if fixes else 'not run'),
                         '%s / %s' % (scan['auths'], fix['auths'] if fix else '-'),
                         '%s / %s' % (scan['sessions'], fix['sessions'] if fix else '-'),
                         '%.0f / %.0f' % (scan['pss'], scan['rss']),
                         '%.0f / %.0f' % (fix['pss'], fix['rss']) if fix else '-',
                         fix['apt'] if fix else '-'])
    out.append(table(['kind', 'N', 'scan s / ctl CPU s (medians)', 'fix s (result)', 'auth/host scan/fix',
                      'sessions/host scan/fix', 'scan MB PSS/RSS', 'fix MB PSS/RSS', 'apt txn/host (fix)'], rows))

    out.append('\n## scan, side by side: median wall s / median controller CPU s; auth/host; sessions/host; peak PSS MB\n')
    rows = []
    for kind in ('converged', 'bare'):
        for n in sizes:
            row = [kind, n]
            for v in variants:
                ms = cells.get((kind, n, v, 'scan'), [])
                st = cell_stats(ms)
                if st:
                    row.append('%s / %s; %s; %s; %.0f' % (fmt_s(st['wall']), fmt_s(st['cpu']), st['auths'], st['sessions'],
                                                          st['pss']))
                elif ms:
                    row.append('FAILS (%s, %.2f s)' % (ms[-1].note, median([m.wall for m in ms])))
                else:
                    row.append('-')
            rows.append(row)
    out.append(table(['kind', 'N'] + ['(%s) %s' % (v, VARIANT_NAMES[v]) for v in variants], rows))

    out.append('\n## ratios of (e) to the others, scan wall time (< 1: (e) is faster)\n')
    rows = []
    for kind in ('converged', 'bare'):
        for n in sizes:
            e = cell_stats(cells.get((kind, n, 'e', 'scan'), []))
            if not e:
                continue
            row = [kind, n]
            for v in ('a', 'b', 'c', 'd', 'f', 'g'):
                st = cell_stats(cells.get((kind, n, v, 'scan'), []))
                row.append('%.2f' % (e['wall'] / st['wall']) if st else '-')
            rows.append(row)
    out.append(table(['kind', 'N', 'e/a', 'e/b', 'e/c', 'e/d', 'e/f', 'e/g'], rows))

    fresh = [(v, cell_stats(cells.get(('bare', 1, v, 'fix'), []))) for v in ('b', 'd', 'e')]
    if any(st for _kind, st in fresh):
        out.append('\n## fix of one bare host: package-manager transactions\n')
        out.append(table(['variant', 'fix s', 'apt transactions', 'auth', 'sessions', 'result'],
                         [['(%s) %s' % (v, VARIANT_NAMES[v]), fmt_s(st['wall']), st['apt'], st['auths'],
                           st['sessions'], st['note']] for v, st in fresh if st]))
    out.extend(forks_table(cells, sizes))
    out.append('\n## targets\n')
    out.extend(targets(cells, sizes))
    out.extend(baseline_section(cells, sizes, baseline))
    out.append('\nmachine: %s' % machine)
    return '\n'.join(out)


def baseline_section(cells, sizes, baseline):
    """--baseline: the converged scan of this tree and of the ref, and their ratio.
    The runs were interleaved, so repetition i of one pairs with repetition i of
    the other: the ratio is the median of the per-repetition ratios."""
    if not baseline:
        return []
    ref = baseline['ref']
    rows, lines = [], []
    for n in sizes:
        ours = cells.get(('converged', n, 'e', 'scan'), [])
        theirs = cells.get(('converged', n, BASELINE, 'scan'), [])
        if not theirs:
            continue
        for label, ms in (('(e) this tree', ours), ('(e) %s = %s' % (ref, baseline['commit']), theirs)):
            st = cell_stats(ms)
            if st:
                rows.append([n, label, '%s / %s' % (fmt_s(st['wall']), fmt_s(st['cpu'])), st['runs'], st['auths'],
                             st['sessions'], '%.0f / %.0f' % (st['pss'], st['rss']), st['note']])
            else:
                rows.append([n, label, 'FAILS (%s)' % (ms[-1].note if ms else 'not run'), 0, '-', '-', '-', '-'])
        pairs = [(a, b) for a, b in zip(ours, theirs) if a.ok and b.ok and a.cpu and b.cpu]
        if pairs:
            wall = [a.wall / b.wall for a, b in pairs]
            cpu = [a.cpu / b.cpu for a, b in pairs]
            # the spread of the per-repetition ratios: how far apart two runs of the same
            # code land on this machine at the time (the noise a verdict must clear)
            lines.append('converged scan, this tree vs %s: wall %.2f, ctl CPU %.2f (ratio, median of reps); '
                         'N=%d, %d reps, per-rep range: wall %.2f-%.2f, ctl CPU %.2f-%.2f; < 1: this tree is faster' % (
                             ref, median(wall), median(cpu), n, len(pairs), min(wall), max(wall), min(cpu), max(cpu)))
    if not rows:
        return []
    return ['\n## before/after: converged scan, this tree vs %s (interleaved in each repetition)\n' % ref,
            table(['N', 'collection', 'scan s / ctl CPU s (medians)', 'runs', 'auth/host', 'sessions/host',
                   'MB PSS/RSS', 'result'], rows), ''] + lines


def forks_table(cells, sizes):
    big = max(sizes)
    forks = sorted(set(int(k[3][len('scan-forks'):]) for k in cells if k[1] == big and k[3].startswith('scan-forks')),
                   reverse=True)
    if not forks:
        return []
    rows = []
    for k in [big] + forks:
        mode = 'scan' if k == big else 'scan-forks%d' % k
        row = [k]
        for v in ('e', 'f'):
            st = cell_stats(cells.get(('converged', big, v, mode), []))
            row.append('%s / %s; %.0f' % (fmt_s(st['wall']), fmt_s(st['cpu']), st['pss']) if st else '-')
        rows.append(row)
    return ['\n## forks, converged scan of %d hosts: median wall s / median controller CPU s; peak PSS MB\n' % big,
            table(['forks', '(e) factiii stage', '(f) ansible raw task'], rows)]


def targets(cells, sizes):
    lines = []

    def verdict(ok, text):
        lines.append('- [%s] %s' % ('met' if ok else 'MISSED', text))

    def st(kind, n, v, mode='scan'):
        return cell_stats(cells.get((kind, n, v, mode), []))

    e_all = [m for key, ms in cells.items() if key[2] == 'e' for m in ms if m.ok]
    auths = [a for m in e_all for a in m.auths]
    # A scan is one module round trip (2 with interpreter discovery). A fix runs as an async
    # job polled every 2 s over the same connection (issue 14 point 4): more round trips,
    # never more logins; its count is reported, not held to a target.
    scan_sessions = [s for m in e_all if m.mode.startswith('scan') for s in m.sessions]
    fix_sessions = [s for m in e_all if m.mode == 'fix' for s in m.sessions]
    if e_all:
        verdict(set(auths) == {1}, '1 SSH authentication per host per stage, scan and fix: %s' % _span(auths))
    if scan_sessions:
        verdict(max(scan_sessions) <= 2, 'scan: <= 2 exec round trips per host per stage: %s' % _span(scan_sessions))
    if fix_sessions:
        lines.append('- [info] fix: exec round trips per host per stage (the async job, its polls): %s'
                     % _span(fix_sessions))
    for n in sizes:
        e, f, b, g, a = (st('converged', n, v) for v in 'efbga')
        if e and f:
            verdict(e['wall'] <= 1.3 * f['wall'], 'N=%d converged scan within 1.3x of (f): %.2fx' % (n, e['wall'] / f['wall']))
        if e and b:
            verdict(b['wall'] >= 5 * e['wall'], 'N=%d converged scan >= 5x faster than (b): %.1fx' % (n, b['wall'] / e['wall']))
        if e and g:
            verdict(e['wall'] < g['wall'], 'N=%d converged scan faster than (g): %.2fx' % (n, e['wall'] / g['wall']))
        if e and a:
            lines.append('- [info] N=%d converged scan vs (a) the raw-SSH floor: %.1fx' % (n, e['wall'] / a['wall']))
    big = max(sizes)
    if big > 1 and 1 in sizes:
        for kind in ('converged', 'bare'):
            one, many = st(kind, 1, 'e'), st(kind, big, 'e')
            if one and many:
                verdict(many['wall'] <= 2 * one['wall'], '%s scan: %d hosts <= 2x one host: %.2fx' % (
                    kind, big, many['wall'] / one['wall']))
        fix1, fixn = st('bare', 1, 'e', 'fix'), st('bare', big, 'e', 'fix')
        if fix1 and fixn:
            verdict(fixn['wall'] <= 2 * fix1['wall'], 'bare fix: %d hosts <= 2x one host: %.2fx' % (
                big, fixn['wall'] / fix1['wall']))

        def peak(variant, attr):
            return max([getattr(m, attr) for key, ms in cells.items() if key[1] == big and key[2] == variant
                        for m in ms if m.ok] or [0]) / 1024.0

        def forks_under(limit):
            # the most forks whose (e) scan stays under the limit, with its wall time
            found = [(int(key[3][len('scan-forks'):]), cell_stats(ms)) for key, ms in cells.items()
                     if key[:3] == ('converged', big, 'e') and key[3].startswith('scan-forks')]
            found = sorted(((k, st) for k, st in found if st and st['pss'] < limit), key=lambda item: item[0])
            return found[-1] if found else (None, None)

        if peak('e', 'pss_kb'):
            verdict(peak('e', 'pss_kb') < 150, 'controller peak memory < 150 MB for %d hosts: PSS %.0f MB (sum of RSS %.0f MB; '
                    '(f), the raw task: PSS %.0f MB; (g) pyinfra: %.0f MB)' % (
                        big, peak('e', 'pss_kb'), peak('e', 'rss_kb'), peak('f', 'pss_kb'), peak('g', 'pss_kb')))
            k, under = forks_under(150)
            full = st('converged', big, 'e')
            if under and full:
                lines.append('- [info] with forks = %d the converged scan of %d hosts peaks at PSS %.0f MB, in %.2f s '
                             '(%.2fx the %.2f s of forks = %d)' % (k, big, under['pss'], under['wall'],
                                                                   under['wall'] / full['wall'], full['wall'], big))
    fixes = [a for n in sizes for m in cells.get(('bare', n, 'e', 'fix'), []) for a in (m.apt or [])]
    if fixes:
        verdict(set(fixes) == {1}, 'fix of a bare host = one package-manager transaction: %s per host' % _span(fixes))
    return lines


def report_from(paths):
    """The report of one or more --json files (comma-separated; runs of other sizes merge)."""
    plan = Plan(None, None)
    machines, ends, baseline = [], [], None
    for path in paths.split(','):
        with open(path, encoding='utf-8') as handle:
            data = json.load(handle)
        for key, items in data.get('cells', data).items():
            kind, count, variant, mode = key.split('|')
            for item in items:
                m = Measurement(variant, mode, item['wall'], item['ok'], item['auths'], item['sessions'],
                                item['rss_kb'], item['pss_kb'], item.get('note', ''))
                m.apt, m.cpu = item.get('apt'), item.get('cpu')
                plan.add(kind, int(count), m)
        baseline = baseline or data.get('baseline')
        machines.append('%s: %s' % (os.path.basename(path), data.get('machine', 'see the run log')))
        ends.append(data.get('end', ''))
    sizes = sorted(set(k[1] for k in plan.cells))
    variants = [v for v in VARIANTS if any(k[2] == v for k in plan.cells)]
    return report(plan, sizes, variants, '\n'.join(machines), baseline) + '\n' + '\n'.join(e for e in ends if e)


def machine_line():
    with open('/proc/meminfo', encoding='utf-8') as handle:
        mem = int(handle.readline().split()[1]) // 1024
    head = subprocess.run(['git', '-C', ROOT, 'describe', '--always', '--dirty'], capture_output=True, text=True,
                          check=False).stdout.strip() or 'unknown'
    return '%s, %d cores, %d MB memory, Python %s, collection tree %s, load average at start %s' % (
        platform.platform(), os.cpu_count(), mem, platform.python_version(), head, ' '.join(load()))


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n', 1)[0])
    parser.add_argument('--quick', action='store_true', help='N=1 only, 3 repetitions, no fresh-host fixes')
    parser.add_argument('--sizes', help='comma-separated host counts (default 1,5,20)')
    parser.add_argument('--reps', type=int, help='scan repetitions (default 5)')
    parser.add_argument('--variants', default=''.join(VARIANTS), help='subset of abcdefg')
    parser.add_argument('--kinds', default='converged,bare')
    parser.add_argument('--forks', default='10,5,3',
                        help='at the largest N, also scan the converged hosts with these fork counts (default 10,5,3; '
                             'empty: none)')
    parser.add_argument('--bare-fix-sizes', default='1,5', help='host counts whose bare hosts are also fixed (default 1,5)')
    parser.add_argument('--profile', action='store_true', help='only the time breakdown of a converged scan (bench/profile.py)')
    parser.add_argument('--fanout', action='store_true',
                        help='only the converged scan of --sizes hosts (default 8) as one job and as --slices (default '
                             '1,2,4) parallel slices (bench/fanout.py)')
    parser.add_argument('--slices', help='with --fanout: comma-separated slice counts k')
    parser.add_argument('--keep', action='store_true', help='keep the work directory (logs)')
    parser.add_argument('--json', help='write every measurement to this file')
    parser.add_argument('--report-from', help='print the report of a --json file again (no run)')
    parser.add_argument('--baseline', metavar='REF',
                        help='also scan the converged hosts with the collection, playbooks and ansible.cfg of this git ref '
                             '(e.g. main): a row "(e) REF", interleaved with (e), and their ratio')
    args = parser.parse_args()
    if args.report_from:
        print(report_from(args.report_from))
        return
    fanout_sizes = args.sizes  # --fanout's own default (8) when not given
    sizes = [int(x) for x in (args.sizes or ('1' if args.quick else '1,5,20')).split(',')]
    args.reps = args.reps or (3 if args.quick else 5)
    args.bare_fix_sizes = [int(x) for x in args.bare_fix_sizes.split(',') if x]
    args.forks = [int(x) for x in args.forks.split(',') if x]
    args.size_list = sizes
    args.variants = [v for v in args.variants if v in VARIANTS]
    if 'e' not in args.variants:
        args.variants.append('e')
    if args.baseline and (args.profile or 'converged' not in args.kinds.split(',')):
        parser.error('--baseline measures the converged scan: not with --profile, and --kinds must name converged')

    become_subreaper()
    machine = machine_line()
    started = time.monotonic()
    workdir = tempfile.mkdtemp(prefix='factiii-bench-')
    log('work directory %s; %s' % (workdir, machine))
    bench = Bench(args, workdir)
    try:
        bench.install_collection()
        if args.baseline:
            bench.install_baseline(args.baseline)
            machine += ', baseline %s = %s' % (args.baseline, bench.baseline['commit'])
        bench.bare_repo = make_app_repo(workdir)
        plan = Plan(bench, args)
        kinds = args.kinds.split(',')
        image = bench.converged_image() if ('converged' in kinds or args.profile or args.fanout) else None
        if args.fanout:
            import fanout  # pylint: disable=import-outside-toplevel
            args.sizes = fanout_sizes
            fanout.main(bench, image, args)
            return
        if args.profile:
            import breakdown  # pylint: disable=import-outside-toplevel
            breakdown.main(bench, image, args.reps)
            return
        json_path = args.json or os.path.join(workdir, 'results.json')

        def save(end=''):
            # after every measurement: a run cut short still leaves its numbers (--report-from)
            data = {'machine': machine, 'sizes': sizes, 'variants': args.variants, 'end': end,
                    'cells': {'%s|%d|%s|%s' % key: [m.as_dict() for m in ms] for key, ms in plan.cells.items()}}
            if bench.baseline:
                data['baseline'] = bench.baseline
            with open(json_path, 'w', encoding='utf-8') as handle:
                json.dump(data, handle, indent=1, default=str)
        plan.on_add = save
        for n in sizes:
            for kind in kinds:
                plan.sweep(kind, n, image if kind == 'converged' else testhost.IMAGE)
        if not args.quick and 'bare' in kinds:
            plan.fresh_fixes()
        end = 'load average at the end %s; bench run took %.0f s' % (' '.join(load()), time.monotonic() - started)
        save(end)
        print(report(plan, sizes, args.variants, machine, bench.baseline) + '\n' + end)
    except BenchError as exc:
        sys.stderr.write('bench: %s\n' % exc)
        sys.exit(1)
    finally:
        if args.keep or bench.keep:
            log('kept %s' % workdir)
        else:
            shutil.rmtree(workdir, ignore_errors=True)


if __name__ == '__main__':
    main()
