"""Where the time of a converged scan goes: bash bench/run --profile.

On one converged host (the benchmark's image), each step is timed on its own,
min and median of --reps runs, interleaved so that load from elsewhere hits
every step alike:

* controller: ``ansible-playbook --version``; a play with no task on the host
  (controller start and teardown, no connection); the AnsiballZ build of the
  stage module and of ansible.builtin.ping, in-process, with an empty cache
  as every ansible-playbook run has;
* transport: ``ssh host true``; (a); (f); (f') the same play with one
  ``ansible.builtin.ping`` task instead of raw (what any Python module costs);
* host: bench/checks.sh and ``pnpm --version`` through docker exec (no SSH),
  ``python3 -c pass``, the import of the module's runtime (its payload's
  ansible.module_utils.basic), the whole module run from its payload;
* factiii: the stage through playbooks/scan.yml (e); the staging role alone in
  a play; the same task without the roles (no argument-spec validation task);
  and that with Ansible's interpreter discovery (one more SSH exec);
"""
import os
import statistics
import subprocess
import sys
import tempfile
import time

import bench

HERE = bench.HERE
ROOT = bench.ROOT

DIRECT_PLAY = """---
- name: Stage module called directly, without the roles
  hosts: staging
  gather_facts: false
  become: true
  check_mode: true
  tasks:
    - name: Scan the staging stage
      factiii.infra.stage:
        stage: staging
        repo_url: %(url)s
        repo_dest: %(dest)s
        repo_version: %(version)s
        node_min_major: 18
""" % bench.APP

ROLE_PLAY = """---
- name: The staging role alone (no stages.yml around it)
  hosts: staging
  gather_facts: false
  check_mode: true
  roles:
    - role: factiii.infra.staging
"""

NOVALIDATE_PLAY = """---
- name: The server role imported without its argument-spec validation
  hosts: staging
  gather_facts: false
  check_mode: true
  tasks:
    - name: Server role, rolespec_validate false
      ansible.builtin.import_role:
        name: factiii.infra.server
        rolespec_validate: false
      vars:
        server_stage: staging
        server_repo_url: %(url)s
        server_repo_dest: %(dest)s
        server_repo_version: %(version)s
        server_node_min_major: 18
""" % bench.APP

PING_PLAY = """---
- name: One ansible.builtin.ping task, the floor of any Python module
  hosts: staging
  gather_facts: false
  become: true
  tasks:
    - name: Ping
      ansible.builtin.ping:
"""

EMPTY_PLAY = """---
- name: No task
  hosts: staging
  gather_facts: false
  tasks: []
"""

AZ_BUILD = r'''
import os, sys, tempfile, time
from ansible import constants as C
from ansible.executor import module_common
from ansible.parsing.dataloader import DataLoader
from ansible.plugins.loader import init_plugin_loader, module_loader
from ansible.template import Templar
init_plugin_loader([sys.argv[1]])
templar = Templar(loader=DataLoader())
for name in sys.argv[3:]:
    ctx = module_loader.find_plugin_with_context(name)
    times = []
    for _ in range(int(sys.argv[2])):
        C.DEFAULT_LOCAL_TMP = tempfile.mkdtemp()  # an empty AnsiballZ cache, as in every new run
        start = time.perf_counter()
        built = module_common.modify_module(module_name=ctx.resolved_fqcn, module_path=ctx.plugin_resolved_path,
                                            module_args={}, templar=templar, module_compression='ZIP_DEFLATED',
                                            task_vars={'ansible_python_interpreter': '/usr/bin/python3'})
        times.append(time.perf_counter() - start)
    print(name, len(built.b_module_data), ' '.join('%.4f' % t for t in times))
'''


def timed(argv, env=None, cp_dir=None):
    start = time.monotonic()
    proc = subprocess.run(argv, env=env, cwd=ROOT, capture_output=True, text=True, check=False)
    wall = time.monotonic() - start
    if cp_dir:
        bench.Bench.close_masters(cp_dir)
        bench.reap_orphans()
    if proc.returncode != 0:
        raise RuntimeError('%s failed (%d): %s' % (' '.join(argv[:3]), proc.returncode, proc.stdout[-2000:] + proc.stderr[-2000:]))
    return wall


def main(b, image, reps):
    """Print the breakdown; ``b`` is a bench.Bench with its collection installed."""
    work = os.path.join(b.workdir, 'profile')
    os.makedirs(work, exist_ok=True)
    plays = {}
    for name, text in (('direct', DIRECT_PLAY), ('empty', EMPTY_PLAY), ('role', ROLE_PLAY), ('novalidate', NOVALIDATE_PLAY),
                       ('ping', PING_PLAY)):
        plays[name] = os.path.join(work, name + '.yml')
        with open(plays[name], 'w', encoding='utf-8') as handle:
            handle.write(text)

    with bench.BenchHosts('bench-profile', 1, work, bench.PORTS['source'], image=image) as hosts:
        host = hosts[0]
        inventory = hosts.inventory({'staging': hosts.names}, {'staging': bench.STAGING_VARS})
        with open(os.path.join(HERE, 'checks.sh'), encoding='utf-8') as handle:
            checks = handle.read()
        host.exec('cat > /root/checks.sh << "EOF"\n%sEOF' % checks)
        payload = keep_payload(b, hosts, inventory, work)

        def ansible(play, extra=()):
            def step():
                cp_dir = tempfile.mkdtemp(prefix='cp-', dir=work)  # every run starts cold
                env = b.ansible_env(os.path.join(ROOT, 'ansible.cfg'), 1, cp_dir)
                return timed(['ansible-playbook', '-i', inventory] + list(extra) + [play], env, cp_dir)
            return step

        # the inventory names the interpreter (bench.STAGING_VARS); this brings discovery back
        discovery = ('-e', 'ansible_python_interpreter=auto_silent')
        steps = [
            ('controller: ansible-playbook --version', lambda: timed(['ansible-playbook', '--version'])),
            ('controller: a play with no task (start, inventory, teardown)', ansible(plays['empty'])),
            ('transport: ssh host true', lambda: timed(hosts.ssh_argv(host) + ['true'])),
            ('(a) ssh host sh -c checks', lambda: timed(hosts.ssh_argv(host) + ['sh /root/checks.sh'])),
            ('(f) ansible raw task', ansible(os.path.join(ROOT, 'bench', 'playbooks', 'raw.yml'))),
            ("(f') one ansible.builtin.ping task, same play", ansible(plays['ping'])),
            ('host: checks.sh alone (docker exec)', lambda: timed(['docker', 'exec', host.name, 'sh', '/root/checks.sh'])),
            ('host: pnpm --version alone', lambda: timed(['docker', 'exec', host.name, 'pnpm', '--version'])),
            ('host: docker exec true (the docker exec cost above)', lambda: timed(['docker', 'exec', host.name, 'true'])),
            ('host: python3 -c pass', lambda: timed(['docker', 'exec', host.name, 'python3', '-c', 'pass'])),
            ('host: python3 importing the payload\'s module_utils.basic',
             lambda: timed(['docker', 'exec', host.name, 'python3', '-c',
                            'import sys; sys.path.insert(0, "/root/payload"); import ansible.module_utils.basic'])),
            ('host: the stage module run from its payload (check mode)',
             lambda: timed(['docker', 'exec', '-w', '/root', host.name, 'python3', payload])),
            ('(e) factiii stage: playbooks/scan.yml', ansible(os.path.join(ROOT, 'playbooks', 'scan.yml'))),
            ('(e) the staging role alone in a play (no stages.yml)', ansible(plays['role'])),
            ('(e) the server role imported, no argument validation', ansible(plays['novalidate'])),
            ('(e) the stage task alone, no roles', ansible(plays['direct'])),
            ('(e) the stage task alone, interpreter discovered (one more SSH exec)', ansible(plays['direct'], extra=discovery)),
        ]
        results = dict((name, []) for name, _step in steps)
        for rep in range(reps):
            for name, step in steps:
                results[name].append(step())
            bench.log('profile repetition %d/%d, load %s' % (rep + 1, reps, ' '.join(bench.load())))
    build = ansiballz_build(b, reps)
    rows = [[name, '%.3f' % min(ts), '%.3f' % statistics.median(ts)] for name, ts in results.items()]
    rows += [['controller: AnsiballZ build of %s (%d KB)' % (name, size // 1024), '%.3f' % min(ts),
              '%.3f' % statistics.median(ts)] for name, size, ts in build]
    print('\n## profile of a converged scan, one host (seconds, %d runs each)\n' % reps)
    print(bench.table(['step', 'min s', 'median s'], rows))
    print('\nload average at the end %s' % ' '.join(bench.load()))


def keep_payload(b, hosts, inventory, work):
    """Run the stage once without pipelining, keeping the AnsiballZ file on the host."""
    cp_dir = tempfile.mkdtemp(prefix='cp-', dir=work)
    env = b.ansible_env(os.path.join(ROOT, 'ansible.cfg'), 1, cp_dir)
    env.update(ANSIBLE_KEEP_REMOTE_FILES='1', ANSIBLE_PIPELINING='False')
    timed(['ansible-playbook', '-i', inventory, os.path.join(ROOT, 'playbooks', 'scan.yml')], env, cp_dir)
    host = hosts[0]
    host.exec('cp /root/.ansible/tmp/ansible-tmp-*/AnsiballZ_stage.py /root/AnsiballZ_stage.py && '
              'rm -rf /root/.ansible/tmp/ansible-tmp-* && cd /root && python3 AnsiballZ_stage.py explode >/dev/null '
              '&& mv /root/debug_dir /root/payload')
    return '/root/AnsiballZ_stage.py'


def ansiballz_build(b, reps):
    proc = subprocess.run([sys.executable, '-c', AZ_BUILD, b.collections, str(reps), 'ansible.builtin.ping',
                           'factiii.infra.stage'], capture_output=True, text=True, check=True,
                          env=dict(os.environ, ANSIBLE_LOCAL_TEMP=tempfile.mkdtemp(dir=b.workdir)))
    out = []
    for line in proc.stdout.splitlines():
        name, size, *times = line.split()
        out.append((name, int(size), [float(t) for t in times]))
    return out


if __name__ == '__main__':
    sys.exit('run it through bash bench/run --profile')
