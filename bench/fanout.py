"""A stage's hosts as one job or fanned out: bash bench/run --fanout (issue 18).

The converged scan of the staging stage (playbooks/scan.yml, as (e)) on N hosts, run as one
ansible-playbook process over all N, and as k slices: k ansible-playbook processes started at
once, each with ``-l staging[first:last]`` (the same contiguous slices, in inventory order, as
the plan job of workflow-templates/factiii-fleet.yml) and its own results file, merged with
the report library's add_slice() as that workflow's summary job does. Each repetition runs
every k once, in turn (interleaved: load from elsewhere falls on all alike).

Measured per run, as bench.py measures (Bench.measure): the wall time until the last process
exits, the controller CPU (user + system of every process and what it waited for), SSH
authentications per host (each host in exactly one slice: 1), the peak PSS of the controller's
process tree. Forks: N/k per process (one per host, as (e) has).

Its hosts are factiii-fo18-fan-*, on loopback ports 24288-24299 (N <= 12; 24280-24287 are test_fleet.py's).
"""
import json
import math
import os
import sys

import bench

PREFIX, BASE_PORT, MAX_HOSTS = 'fo18-fan', 24288, 12  # test_fleet.py has 24280-24287


def slice_limits(stage, count, k):
    """The -l of each of the (at most k) slices of ``count`` hosts: as factiii-fleet.yml's plan job."""
    k = min(k, count)
    return ['%s[%d:%d]' % (stage, i * count // k, (i + 1) * count // k - 1) for i in range(k)]


def _results_library():
    """plugins/plugin_utils/results.py of the collection the bench installed (bench.collections)."""
    return __import__('ansible_collections.factiii.infra.plugins.plugin_utils.results', fromlist=['results'])


class FanoutBench(bench.Bench):
    """bench.Bench whose variant 'kK' is the converged scan of (e) in K slices at once."""

    def command(self, variant, mode, hosts, inventory, cp_dir, results):
        if not variant.startswith('k'):
            return super().command(variant, mode, hosts, inventory, cp_dir, results)
        limits = slice_limits('staging', len(hosts.hosts), int(variant[1:]))
        self.forks = math.ceil(len(hosts.hosts) / len(limits))
        env = self.ansible_env(os.path.join(bench.ROOT, 'ansible.cfg'), len(hosts.hosts), cp_dir)
        book = os.path.join(bench.ROOT, 'playbooks', 'scan.yml')
        # each slice its own results file (env execs ansible-playbook: wait4 still sees its CPU)
        return [['env', 'FACTIII_RESULTS_JSON=%s.%d' % (results, i + 1), 'ansible-playbook', '-i', inventory, '-l',
                 limit, book] for i, limit in enumerate(limits)], env

    @staticmethod
    def verdict(variant, outputs, results, codes):
        if not variant.startswith('k'):
            return bench.Bench.verdict(variant, outputs, results, codes)
        if any(codes):
            return 'exit %s' % ','.join(str(c) for c in sorted(set(codes)))
        lib = _results_library()
        merged = lib.new_report()
        try:
            for i in range(len(outputs)):
                with open('%s.%d' % (results, i + 1), encoding='utf-8') as handle:
                    lib.add_slice(merged, lib.load_results(handle.read()))
        except (OSError, ValueError) as exc:
            return 'merge: %s' % exc
        total = merged['total']
        return 'fixed %d, hosts %d' % (total['fixed'], len(merged['stages'].get('staging', {}).get('hosts', {}))) + \
            ''.join(', %s %d' % (key, total[key]) for key in ('manual', 'failed') if total[key])


def main(b, image, args):
    """Called by bench.py with --fanout: ``args.sizes`` (N), ``args.slices`` (k), ``args.reps``."""
    fan = FanoutBench(b.args, b.workdir)
    fan.collections = b.collections
    sys.path.insert(0, fan.collections)
    sizes = [int(x) for x in (args.sizes or '8').split(',')]
    ks = [int(x) for x in (args.slices or '1,2,4').split(',')]
    if max(sizes) > MAX_HOSTS:
        raise bench.BenchError('--fanout: at most %d hosts (ports %d-%d)' % (MAX_HOSTS, BASE_PORT, BASE_PORT + MAX_HOSTS - 1))
    cells = {}
    for n in sizes:
        workdir = os.path.join(fan.workdir, 'fanout-%d' % n)
        with bench.BenchHosts(PREFIX, n, workdir, BASE_PORT, image=image) as hosts:
            inventory = hosts.inventory({'staging': hosts.names}, {'staging': bench.STAGING_VARS})
            counts = hosts.sshd_counts()
            for rep in range(args.reps):
                for k in ks:
                    m = fan.measure('k%d' % k, 'scan', hosts, inventory, counts)
                    counts = m.after
                    cells.setdefault((n, k), []).append(m)
                bench.log('fanout N=%d: repetition %d/%d done, load %s' % (n, rep + 1, args.reps, ' '.join(bench.load())))
    fan.forks = None
    if args.json:
        with open(args.json, 'w', encoding='utf-8') as handle:
            json.dump({'%d|%d' % key: [m.as_dict() for m in ms] for key, ms in cells.items()}, handle, indent=1,
                      default=str)
    print(report(cells))


def report(cells):
    rows = []
    for (n, k), ms in sorted(cells.items()):
        good = [m for m in ms if m.ok]
        wall, cpu = bench.median([m.wall for m in good]), bench.median([m.cpu for m in good])
        one = cells.get((n, 1))
        base = bench.median([m.wall for m in one if m.ok]) if one else None
        rows.append([
            str(n), str(min(k, n)), '%d/%d' % (len(good), len(ms)), bench.fmt_s(wall), bench.fmt_s(cpu),
            bench.fmt_s(cpu / n if cpu is not None else None), bench.fmt_s(wall / base if wall and base else None),
            bench._span(sorted({a for m in ms for a in m.auths})),  # pylint: disable=protected-access
            '%d' % (max(m.pss_kb for m in ms) // 1024), ms[-1].note])
    return ('\n## fan-out: the converged scan of N hosts as one job or as k slices at once '
            '(medians; ctl = controller)\n\n' + bench.table(
                ['N', 'k', 'ok runs', 'wall s', 'ctl CPU s', 'ctl CPU s/host', 'wall / k=1', 'auth/host',
                 'peak PSS MB', 'report (last run)'], rows))
