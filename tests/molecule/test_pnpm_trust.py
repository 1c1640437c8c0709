"""Issue 12, finding 1 on a real host: the app's package.json cannot make root install and run code.

A Debian test host (tests/testhost.py; loopback ports 23600-23609) with an app in /srv/app whose
package.json says ``"packageManager": "pnpm@file:/srv/app/vendor/evil.tgz"``, where evil.tgz is a
real npm package tarball named pnpm whose install scripts write a marker (``id`` output) and
whose bin writes it too. `ansible-playbook playbooks/fix.yml -l staging` (node-missing,
pnpm-missing; the collection built from this tree):

1. the scan and the fix both report staging-pnpm-missing Failed, naming package.json and the
   refused value; no marker, no pnpm on the host, npm never ran with that spec;
2. package.json a symbolic link to /dev/zero: Failed "is a symbolic link" (it used to read
   /dev/zero to MemoryError as root);
3. a valid ``pnpm@9.15.0+sha512.<hex>``: pnpm 9.15.0 installed with install scripts off
   (npm's own log of the run says --ignore-scripts) and `pnpm --version` answers.
"""
import io
import json
import subprocess
import tarfile

from scenario import row, run_fix
from testhost import TestHosts

PORT = 23600
APP = '/srv/app'
EVIL = APP + '/vendor/evil.tgz'
MARKER = '/root/factiii-evil-marker'
# the role requires a repository; the clone is not among the fixes: /srv/app is put there by hand
SETTINGS = {'staging_fixes': ['node-missing', 'pnpm-missing'], 'staging_app_dir': APP,
            'staging_repo_url': 'file:///opt/git/app.git', 'staging_repo_dest': APP,
            'staging_node_min_major': 18, 'staging_pnpm_version': '10'}

# What the scripts and the bin of the package run: as root, this is root code execution.
PAYLOAD = 'id >> %s; echo "$0 $*" >> %s' % (MARKER, MARKER)


def evil_tarball():
    """An npm package tarball (package/ prefix, as `npm pack` makes it) called pnpm, whose
    preinstall, install and postinstall scripts and whose bin all write the marker."""
    meta = {'name': 'pnpm', 'version': '6.6.6', 'bin': {'pnpm': 'bin/pnpm.js'},
            'scripts': dict((name, 'sh -c \'%s\' %s' % (PAYLOAD, name))
                            for name in ('preinstall', 'install', 'postinstall'))}
    files = {'package/package.json': json.dumps(meta).encode(),
             'package/bin/pnpm.js': ('#!/bin/sh\n%s\necho 6.6.6\n' % PAYLOAD).encode()}
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode='w:gz') as tar:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size, info.mode = len(data), 0o755
            tar.addfile(info, io.BytesIO(data))
    return out.getvalue()


def put(host, path, data):
    subprocess.run(['docker', 'exec', '-i', host.name, 'sh', '-c', 'mkdir -p "$(dirname %s)" && cat > %s'
                    % (path, path)], input=data, check=True, capture_output=True)


def package_json(host, manager):
    data = {'name': 'app', 'private': True, 'packageManager': manager}
    put(host, APP + '/package.json', json.dumps(data).encode())


def no_pnpm_and_no_marker(host):
    assert host.exec('test -e %s' % MARKER, check=False).returncode != 0, host.exec('cat %s' % MARKER).stdout
    assert host.exec('command -v pnpm', check=False).returncode != 0
    assert host.exec('ls /usr/local/lib/node_modules 2>/dev/null; true').stdout.split() in ([], ['npm'])


def test_package_manager_from_the_app_cannot_run_code_as_root(test_host_image, ansible_env, tmp_path):
    with TestHosts('t12pnpm', 1, tmp_path, base_port=PORT) as hosts:
        host = hosts[0]
        put(host, EVIL, evil_tarball())
        manager = 'pnpm@file:' + EVIL
        package_json(host, manager)
        refusal = ("refusing packageManager '%s' in %s/package.json: not pnpm@ with an exact version "
                   "(such as pnpm@10.2.1) or a major (such as pnpm@10); nothing installed" % (manager, APP))

        proc, data, fix_seconds = run_fix(ansible_env, hosts, tmp_path, 'fix', SETTINGS)
        no_pnpm_and_no_marker(host)
        assert row(data, host, 'node-missing')['status'] == 'fixed', proc.report
        fixed = row(data, host, 'pnpm-missing')
        assert (fixed['status'], fixed['msg']) == ('failed', refusal), proc.report
        assert proc.returncode != 0, proc.report
        # npm is there and would have installed it: the refusal is what kept it out
        assert host.exec('command -v npm', check=False).returncode == 0
        assert 'file:' not in host.exec('cat /root/.npm/_logs/*.log 2>/dev/null; true').stdout

        # the scan says the same (node is there now: nothing else stands in the way)
        proc, data, scan_seconds = run_fix(ansible_env, hosts, tmp_path, 'scan', SETTINGS, '--check')
        scanned = row(data, host, 'pnpm-missing')
        assert (scanned['status'], scanned['msg']) == ('failed', refusal), proc.report
        assert proc.returncode != 0, proc.report

        host.exec('rm %s/package.json && ln -s /dev/zero %s/package.json' % (APP, APP))
        proc, data, link_seconds = run_fix(ansible_env, hosts, tmp_path, 'link', SETTINGS, '--check')
        linked = row(data, host, 'pnpm-missing')
        assert (linked['status'], linked['msg']) == (
            'failed', 'refusing %s/package.json: it is a symbolic link' % APP), proc.report
        assert 'MemoryError' not in proc.stdout + proc.stderr

        host.exec('rm %s/package.json' % APP)
        package_json(host, 'pnpm@9.15.0+sha512.' + '0123456789abcdef' * 8)
        proc, data, good_seconds = run_fix(ansible_env, hosts, tmp_path, 'good', SETTINGS)
        good = row(data, host, 'pnpm-missing')
        assert good['status'] == 'fixed', proc.report
        assert good['msg'] == 'done: install pnpm@9.15.0 with npm', good
        assert host.exec('pnpm --version').stdout.strip() == '9.15.0'
        # npm's own record of the command it ran
        argv = host.exec('grep -h "verbose argv" /root/.npm/_logs/*.log').stdout
        assert '"--ignore-scripts"' in argv and '"pnpm@9.15.0"' in argv, argv
        assert host.exec('test -e %s' % MARKER, check=False).returncode != 0

        proc, data, again_seconds = run_fix(ansible_env, hosts, tmp_path, 'again', SETTINGS, '--check')
        assert row(data, host, 'pnpm-missing')['status'] == 'ok', proc.report
    print('runs: scan %.1fs, fix %.1fs, link %.1fs, good %.1fs, again %.1fs'
          % (scan_seconds, fix_seconds, link_seconds, good_seconds, again_seconds))
