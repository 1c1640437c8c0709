"""The quick test hosts of tests/testhost.py: SSH with a pinned key works, and a
wrong pinned key is refused (host key checking is never off)."""
import subprocess

from testhost import TestHosts


def test_pinned_ssh_works_and_a_changed_host_key_is_refused(test_host_image, tmp_path):
    with TestHosts('selftest', 1, tmp_path, base_port=23990) as hosts:
        host = hosts[0]
        ok = subprocess.run(hosts.ssh_argv(host) + ['true'], capture_output=True, text=True, check=False)
        assert ok.returncode == 0, ok.stderr
        host.exec('rm -f /etc/ssh/ssh_host_*; ssh-keygen -A >/dev/null; systemctl restart ssh')
        bad = subprocess.run(hosts.ssh_argv(host) + ['true'], capture_output=True, text=True, check=False)
        assert bad.returncode == 255
        assert 'REMOTE HOST IDENTIFICATION HAS CHANGED' in bad.stderr or 'Host key verification failed' in bad.stderr
