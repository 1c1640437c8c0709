"""The execution environment's overhead (issue 18): the staging scan of N converged hosts through the EE
next to the plain ansible-playbook run, interleaved, and their ratio.

    PATH=$PWD/.venv/bin:$PATH python bench/ee.py --sizes 1,5 --reps 5

(e) plain: `ansible-playbook playbooks/scan.yml` with the repository's ansible.cfg (bench.py's (e)).
(x) EE: the same scan as AWX runs a job: `ansible-runner transmit DIR -p scan.yml | docker run -i --rm
    --user 0 --network host IMAGE ansible-runner worker | ansible-runner process OUT`, DIR holding the
    same inventory, the same ansible.cfg and ANSIBLE_FORKS, a playbook importing factiii.infra.scan;
    IMAGE is tests/ee_image.py's Debian EE (built when its inputs changed).
Both inventories say ansible_host_key_checking: true (ansible-runner turns checking off otherwise,
and the stage refuses the host). Each repetition runs both, the order alternating. The hosts are
bench.py's converged hosts (its cached image), here on ports 24250-24259, named factiii-ee18-bench-*.
Controller CPU: (e) the wait4 rusage of ansible-playbook and everything it waited for (bench.py's);
(x) that of transmit, docker's client and process, plus the worker's own in the container (a small
Python wrapper there reports the rusage of ansible-runner worker and its children). Neither counts
dockerd's and containerd's work of starting the container.
"""
import argparse
import json
import os
import re
import shutil
import sys
import tempfile
import time

import yaml

import bench as b

sys.path.insert(0, os.path.join(b.ROOT, 'tests'))
import ee_image  # noqa: E402  pylint: disable=wrong-import-position

EE = 'x'
# runs the worker in the container and writes its CPU time (user + system of it and every process it
# waited for: ansible-playbook, its forks, ssh) to stderr, which the run's log gets
CPU_WRAPPER = ('import resource, subprocess, sys; code = subprocess.call(sys.argv[1:]); '
               'u = resource.getrusage(resource.RUSAGE_CHILDREN); '
               'sys.stderr.write("factiii-ee-cpu %.3f\\n" % (u.ru_utime + u.ru_stime)); sys.exit(code)')
PORT = 24250
NAMES = {'e': 'plain ansible-playbook', EE: 'EE: runner transmit|worker|process'}
GROUP_VARS = dict(b.STAGING_VARS, ansible_host_key_checking=True)


class EEBench(b.Bench):
    """bench.py's measurement, with (x): the scan in the EE through ansible-runner."""

    image = None

    def command(self, variant, mode, hosts, inventory, cp_dir, results):
        if variant != EE:
            return super().command(variant, mode, hosts, inventory, cp_dir, results)
        pdd = tempfile.mkdtemp(prefix='pdd-', dir=self.workdir)
        for sub in ('project', 'inventory', 'env'):
            os.makedirs(os.path.join(pdd, sub))
        with open(os.path.join(pdd, 'project', 'scan.yml'), 'w', encoding='utf-8') as handle:
            handle.write('---\n- name: The factiii scan\n  ansible.builtin.import_playbook: factiii.infra.%s\n' % mode)
        shutil.copy(os.path.join(b.ROOT, 'ansible.cfg'), os.path.join(pdd, 'project'))
        shutil.copy(inventory, os.path.join(pdd, 'inventory', 'hosts.yml'))
        with open(os.path.join(pdd, 'env', 'envvars'), 'w', encoding='utf-8') as handle:
            yaml.safe_dump({'ANSIBLE_FORKS': str(self.forks or len(hosts.hosts)), 'FACTIII_RESULTS_JSON': results,
                            'ANSIBLE_NOCOLOR': '1'}, handle)
        out = os.path.join(pdd, 'out')
        # the key and known_hosts at the inventory's paths (read-only); the report JSON into the logs
        script = ('set -o pipefail; ansible-runner transmit "$1" -p scan.yml | docker run -i --rm --user 0 '
                  '--network host -v "$2:$2:ro" -v "$3:$3" "$4" python3 -c "$6" ansible-runner worker '
                  '--private-data-dir=/runner | ansible-runner process "$5"')
        return [['bash', '-c', script, 'ee', pdd, hosts.workdir, self.logs, self.image, out, CPU_WRAPPER]], dict(os.environ)

    def measure(self, variant, mode, hosts, inventory, counts_before=None):
        m = super().measure(variant, mode, hosts, inventory, counts_before)
        if variant == EE:
            # the container's CPU (the Ansible run itself) added to the machine-side CPU
            tag = '%03d-%s-%s-n%d' % (self.counter, variant, mode, len(hosts.hosts))
            with open(os.path.join(self.logs, tag + '.0.log'), encoding='utf-8') as handle:
                found = re.findall(r'^factiii-ee-cpu (\S+)$', handle.read(), re.M)
            m.host_cpu = m.cpu
            m.cpu = m.cpu + float(found[-1]) if found else None
        return m

    @staticmethod
    def verdict(variant, outputs, results, codes):
        return b.Bench.verdict('e' if variant == EE else variant, outputs, results, codes)


def table(rows):
    headers = ['N', 'plain wall s', 'EE wall s', 'EE / plain wall', 'EE - plain s', 'plain CPU s', 'EE CPU s',
               'EE / plain CPU', 'auth/host plain / EE', 'reps']
    return b.table(headers, rows)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n', 1)[0])
    parser.add_argument('--sizes', default='1,5', help='comma-separated host counts (default 1,5; at most 10)')
    parser.add_argument('--reps', type=int, default=5, help='repetitions of each scan (default 5)')
    parser.add_argument('--converged-image', help='an existing converged image to use (its scan must say fixed 0)')
    parser.add_argument('--keep', action='store_true', help='keep the work directory (logs)')
    parser.add_argument('--json', help='write every measurement to this file')
    args = parser.parse_args()
    sizes = [int(x) for x in args.sizes.split(',')]
    if max(sizes) > 10:
        parser.error('--sizes: at most 10 hosts (ports %d-%d)' % (PORT, PORT + 9))
    b.become_subreaper()
    machine = b.machine_line()
    workdir = tempfile.mkdtemp(prefix='factiii-ee-bench-')
    b.log('work directory %s; %s' % (workdir, machine))
    bench = EEBench(args, workdir)
    bench.source_host = ('ee18-bench-source', PORT + 9)
    cells = {}
    try:
        bench.install_collection()
        bench.bare_repo = b.make_app_repo(workdir)
        image = args.converged_image or bench.converged_image()
        bench.image = ee_image.build(log=b.log)
        for n in sizes:
            with b.BenchHosts('ee18-bench', n, os.path.join(workdir, 'n%d' % n), PORT, image=image) as hosts:
                inventory = hosts.inventory({'staging': hosts.names}, {'staging': GROUP_VARS})
                for rep in range(args.reps):
                    for variant in (('e', EE) if rep % 2 == 0 else (EE, 'e')):
                        m = bench.measure(variant, 'scan', hosts, inventory)
                        if not (m.ok and m.note == 'fixed 0'):
                            raise b.BenchError('%s N=%d: the scan did not say fixed 0 (%s): see %s'
                                               % (NAMES[variant], n, m.note or 'failed', bench.logs))
                        cells.setdefault((n, variant), []).append(m)
                    b.log('N=%d: repetition %d/%d, load %s' % (n, rep + 1, args.reps, ' '.join(b.load())))
                if args.json:
                    with open(args.json, 'w', encoding='utf-8') as handle:
                        json.dump({'machine': machine, 'cells': {'%d|%s' % k: [m.as_dict() for m in ms]
                                                                 for k, ms in cells.items()}}, handle, indent=1)
        rows = []
        for n in sizes:
            plain, ee = cells[(n, 'e')], cells[(n, EE)]
            wall_p, wall_e = b.median([m.wall for m in plain]), b.median([m.wall for m in ee])
            cpu_p, cpu_e = b.median([m.cpu for m in plain]), b.median([m.cpu for m in ee if m.cpu is not None])
            auths = '%s / %s' % (b._span([a for m in plain for a in m.auths]),  # pylint: disable=protected-access
                                 b._span([a for m in ee for a in m.auths]))  # pylint: disable=protected-access
            rows.append([str(n), b.fmt_s(wall_p), b.fmt_s(wall_e), '%.2f' % (wall_e / wall_p), b.fmt_s(wall_e - wall_p),
                         b.fmt_s(cpu_p), b.fmt_s(cpu_e), '%.2f' % (cpu_e / cpu_p) if cpu_e else '-', auths,
                         str(len(plain))])
        print('%s\nEE image %s, converged image %s; every scan said fixed 0\n%s' % (
            machine, bench.image, image, table(rows)))
    except (b.BenchError, ee_image.EEError) as exc:
        sys.stderr.write('bench/ee: %s\n' % exc)
        sys.exit(1)
    finally:
        if args.keep:
            b.log('kept %s' % workdir)
        else:
            shutil.rmtree(workdir, ignore_errors=True)


if __name__ == '__main__':
    start = time.monotonic()
    main()
    b.log('took %.0f s' % (time.monotonic() - start))
