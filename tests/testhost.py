"""Throwaway SSH test hosts without molecule: for tests that need a server quickly.

Each host is a container of the test host image (systemd, sshd) started with the
same flags as the molecule scenarios, reachable on a loopback port with a fresh
key and a pinned known_hosts file (StrictHostKeyChecking=yes, never off).

    with TestHosts('bench', 3, tmp_path) as hosts:
        hosts.inventory({'staging': hosts.names})   # -> path of an inventory file
        hosts[0].exec('systemctl is-active ssh')
"""
import os
import subprocess
import time

import yaml

IMAGE = 'factiii-test-host:bookworm'
# Every capability dockerd 20.10 knows except SYS_RESOURCE (see tests/hosts/Dockerfile)
CAPS = ('AUDIT_CONTROL AUDIT_READ AUDIT_WRITE BLOCK_SUSPEND CHOWN DAC_OVERRIDE DAC_READ_SEARCH FOWNER '
        'FSETID IPC_LOCK IPC_OWNER KILL LEASE LINUX_IMMUTABLE MAC_ADMIN MAC_OVERRIDE MKNOD NET_ADMIN '
        'NET_BIND_SERVICE NET_BROADCAST NET_RAW SETFCAP SETGID SETPCAP SETUID SYS_ADMIN SYS_BOOT '
        'SYS_CHROOT SYS_MODULE SYS_NICE SYS_PACCT SYS_PTRACE SYS_RAWIO SYS_TIME SYS_TTY_CONFIG SYSLOG '
        'WAKE_ALARM').split()
RUN_FLAGS = ['--security-opt', 'seccomp=unconfined', '--security-opt', 'apparmor=unconfined',
             '--cgroupns=host', '-v', '/sys/fs/cgroup:/sys/fs/cgroup:rw', '--tmpfs', '/run',
             '--tmpfs', '/run/lock', '--tmpfs', '/tmp', '--stop-signal', 'SIGRTMIN+3']


def _run(argv, **kw):
    return subprocess.run(argv, capture_output=True, text=True, check=True, **kw)


class Host:
    def __init__(self, name, port):
        self.name = name
        self.port = port

    def exec(self, command, check=True):
        """A shell command in the host through docker (not SSH: sshd logs stay the product's)."""
        proc = subprocess.run(['docker', 'exec', self.name, 'sh', '-c', command],
                              capture_output=True, text=True, check=False)
        if check and proc.returncode != 0:
            raise AssertionError('%s: %s failed (%d): %s' % (self.name, command, proc.returncode, proc.stderr))
        return proc

    def ssh_logins(self):
        out = self.exec('journalctl -u ssh --no-pager -o cat | grep -c "Accepted publickey" || true').stdout
        return int(out.strip() or 0)


class TestHosts:
    """``count`` hosts named ``<prefix>-<i>``, ports from ``base_port``; removed on exit."""

    __test__ = False  # pytest would collect a Test* class

    def __init__(self, prefix, count, workdir, base_port=23000, image=IMAGE):
        self.prefix = prefix
        self.image = image
        self.workdir = str(workdir)
        self.hosts = [Host('factiii-%s-%d' % (prefix, i), base_port + i) for i in range(count)]
        self.key = os.path.join(self.workdir, 'id_ed25519')
        self.known_hosts = os.path.join(self.workdir, 'known_hosts')

    def __getitem__(self, index):
        return self.hosts[index]

    @property
    def names(self):
        return [h.name for h in self.hosts]

    def __enter__(self):
        self.remove()
        _run(['ssh-keygen', '-q', '-t', 'ed25519', '-N', '', '-C', 'factiii-test', '-f', self.key])
        with open(self.key + '.pub') as handle:
            pub = handle.read()
        try:
            for host in self.hosts:
                argv = ['docker', 'run', '-d', '--name', host.name, '--hostname', host.name,
                        '--label', 'factiii.test=%s' % self.prefix, '-p', '127.0.0.1:%d:22' % host.port]
                argv += [a for cap in CAPS for a in ('--cap-add', cap)] + RUN_FLAGS + [self.image]
                _run(argv)
            for host in self.hosts:
                self._authorize(host, pub)
            self._pin_host_keys()
        except Exception:
            self.remove()
            raise
        return self

    def _authorize(self, host, pub):
        deadline = time.monotonic() + 60
        while host.exec('systemctl is-active -q ssh', check=False).returncode != 0:
            assert time.monotonic() < deadline, '%s: sshd did not start' % host.name
            time.sleep(0.2)
        subprocess.run(['docker', 'exec', '-i', host.name, 'sh', '-c',
                        'rm -f /etc/ssh/ssh_host_*; ssh-keygen -A >/dev/null; install -d -m 0700 /root/.ssh; '
                        'cat > /root/.ssh/authorized_keys; chmod 0600 /root/.ssh/authorized_keys; '
                        'systemctl restart ssh'], input=pub, text=True, check=True, capture_output=True)

    def _pin_host_keys(self):
        lines = []
        for host in self.hosts:
            deadline = time.monotonic() + 60
            while True:
                proc = subprocess.run(['ssh-keyscan', '-t', 'ed25519', '-p', str(host.port), '127.0.0.1'],
                                      capture_output=True, text=True, check=False)
                if proc.stdout.strip():
                    lines.append(proc.stdout.strip())
                    break
                assert time.monotonic() < deadline, '%s: no SSH host key on port %d' % (host.name, host.port)
                time.sleep(0.2)
        fd = os.open(self.known_hosts, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, 'w') as handle:
            handle.write('\n'.join(lines) + '\n')

    def ssh_vars(self, host):
        return {
            'ansible_connection': 'ssh', 'ansible_host': '127.0.0.1', 'ansible_port': host.port,
            'ansible_user': 'root', 'ansible_ssh_private_key_file': self.key,
            'ansible_ssh_common_args': '-F none -o UserKnownHostsFile=%s -o StrictHostKeyChecking=yes '
                                       '-o IdentitiesOnly=yes' % self.known_hosts,
        }

    def ssh_argv(self, host):
        """argv prefix for a plain ssh to ``host`` with the same pinned settings."""
        return ['ssh', '-F', 'none', '-i', self.key, '-p', str(host.port), '-o', 'IdentitiesOnly=yes',
                '-o', 'UserKnownHostsFile=%s' % self.known_hosts, '-o', 'StrictHostKeyChecking=yes',
                '-o', 'BatchMode=yes', 'root@127.0.0.1']

    def inventory(self, groups, group_vars=None, name='inventory.yml'):
        """Write an inventory: ``groups`` maps a group to host names; returns its path."""
        by_name = dict((h.name, h) for h in self.hosts)
        children = {}
        for group, members in groups.items():
            children[group] = {'hosts': dict((m, self.ssh_vars(by_name[m])) for m in members)}
            if group_vars and group in group_vars:
                children[group]['vars'] = group_vars[group]
        path = os.path.join(self.workdir, name)
        with open(path, 'w') as handle:
            yaml.safe_dump({'all': {'children': children}}, handle)
        return path

    def remove(self):
        for host in self.hosts:
            subprocess.run(['docker', 'rm', '-f', host.name], capture_output=True, check=False)

    def __exit__(self, *exc):
        self.remove()
