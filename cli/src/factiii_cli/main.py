"""factiii: scan and fix every stage of factiii.infra from a developer's machine.

    factiii scan [--dev] [--secrets] [--staging] [--prod]      no stage flag: all four
    factiii fix  [--dev] [--secrets] [--staging] [--prod] [--on-server]
    factiii deploy --staging|--prod [--ref REF]
    factiii dev-sync --staging [--rollback]
    factiii init [--check] [--dir DIR]                          write factiii's files into an app repository

dev and secrets (and any stage with --on-server) run here through ansible-runner;
staging and prod run in the app repository's GitHub workflows, started, followed
and read back through the GitHub REST API. One RESULTS BY STAGE table for all of
them goes to stdout, progress to stderr.

Exit status: 0 no fix failed; 1 a fix failed; 2 the command could not do its
work (one line on stderr says why); 130 interrupted (Ctrl-C, SIGTERM, SIGHUP),
after the report of what ran, a local stage still running as <stage>-interrupted.
"""
import argparse
import os
import signal
import sys

from factiii_cli import __version__, collection as collections, init, local, remote
from factiii_cli.errors import CliError
from factiii_cli.progress import Progress
from factiii_cli.report import Report

STAGES = ('dev', 'secrets', 'staging', 'prod')
LOCAL_STAGES = ('dev', 'secrets')
FIX_WORKFLOWS = {'staging': 'factiii-fix-staging.yml', 'prod': 'factiii-fix-prod.yml'}
SCAN_WORKFLOW = 'factiii-scan.yml'
DEPLOY_WORKFLOW = 'factiii-deploy.yml'
DEV_SYNC_WORKFLOW = 'factiii-dev-sync.yml'
WORKFLOW_HOST = 'workflow'


def _positive(value):
    try:
        number = float(value)
    except ValueError:
        raise argparse.ArgumentTypeError('%r is not a number of seconds' % value) from None
    if number <= 0:
        raise argparse.ArgumentTypeError('%r must be more than 0' % value)
    return number


def version_text():
    """The CLI's version and the collection it uses (which copy, which version)."""
    try:
        found = collections.find()
    except CliError as exc:
        return 'factiii %s\nfactiii.infra: %s' % (__version__, exc)
    text = 'factiii %s\nfactiii.infra %s, %s' % (__version__, found.version, found.source)
    if found.version != __version__:
        text += ' (not the CLI\'s version: install the factiii.infra %s that the CLI was built with, or remove ' \
                'that copy)' % __version__
    return text


class _Version(argparse.Action):
    """--version: as argparse's own, plus the collection (found only when asked: it reads Ansible's config)."""

    def __init__(self, option_strings, **kwargs):
        kwargs.update(dest=argparse.SUPPRESS, default=argparse.SUPPRESS, nargs=0)
        super().__init__(option_strings, **kwargs)

    def __call__(self, parser, namespace, values, option_string=None):
        sys.stdout.write(version_text() + '\n')  # stdout, as argparse's own version action
        parser.exit()


def _github_options(parser):
    group = parser.add_argument_group('GitHub (staging and prod run in the app repository\'s workflows)')
    group.add_argument('--repo', metavar='OWNER/NAME',
                       help='the app repository (default: GITHUB_REPOSITORY, else the origin remote of this clone)')
    group.add_argument('--ref', help='branch or tag to run the workflow on (default: the repository\'s default branch)')
    group.add_argument('--timeout', type=_positive, default=3600, metavar='SECONDS',
                       help='give up following a workflow run after this long (default: %(default)s; the run goes on)')
    group.add_argument('--poll-interval', type=_positive, default=5, metavar='SECONDS',
                       help='seconds between two looks at a running workflow (default: %(default)s)')
    parser.add_argument('--json', metavar='PATH', help='also write the merged results as JSON (the callback\'s format)')


def parser():
    top = argparse.ArgumentParser(prog='factiii', description=__doc__.split('\n\n', maxsplit=1)[0],
                                  formatter_class=argparse.RawDescriptionHelpFormatter)
    top.add_argument('--version', action=_Version,
                     help='show the version of the CLI and of the factiii.infra collection it uses, and exit')
    sub = top.add_subparsers(dest='command', metavar='COMMAND', required=True)
    for command, text in (('scan', 'report what each stage needs; nothing changes (check mode)'),
                          ('fix', 'fix each stage')):
        cmd = sub.add_parser(command, help=text, description='%s. No stage flag: every stage.' % text.capitalize())
        for stage in STAGES:
            cmd.add_argument('--%s' % stage, action='store_true', help='the %s stage' % stage)
        cmd.add_argument('--on-server', action='store_true',
                         help='run the chosen stages on this machine (the server itself) with a local connection, '
                              'not through their workflows. Checked first: each stage\'s group in the inventory '
                              'has hosts, all with ansible_connection: local, and this user is root or has '
                              'passwordless sudo (unless <stage>_become is false)')
        cmd.add_argument('--inventory', '-i', action='append', metavar='PATH',
                         help='inventory for the stages run here, relative to this directory (default: the '
                              'inventory of the ansible.cfg in force or ANSIBLE_INVENTORY, else the collection\'s '
                              'inventories/local, plus inventories/on-server with --on-server); repeatable')
        _github_options(cmd)
    cmd = sub.add_parser('deploy', help='deploy a ref to staging or prod (factiii-deploy.yml)')
    where = cmd.add_mutually_exclusive_group(required=True)
    where.add_argument('--staging', action='store_true')
    where.add_argument('--prod', action='store_true')
    _github_options(cmd)
    cmd = sub.add_parser('dev-sync', help='ship this branch\'s collection build to staging (factiii-dev-sync.yml)')
    cmd.add_argument('--staging', action='store_true', required=True, help='the only stage dev-sync serves')
    cmd.add_argument('--rollback', action='store_true', help='switch staging back to the previous version')
    cmd.add_argument('--artifact-run-id', metavar='RUN_ID',
                     help='ship the factiii-collection artifact of this workflow run instead of building the ref')
    _github_options(cmd)
    init.add_parser(sub)
    return top


class Command:
    """One invocation: the local run, the workflow runs, then one report."""

    def __init__(self, args, progress):
        self.args = args
        self.progress = progress
        self.collection = collections.find()
        self.report = Report(self.collection.results)
        # from here on, every line shown goes through the report library's printable()
        progress.clean = self.collection.results.printable
        self.check_mode = args.command == 'scan'

    # -- GitHub -------------------------------------------------------------

    def workflows(self):
        gh = self.collection.github_api
        repo = remote.repository(gh, self.args.repo)
        api = remote.api_url(gh)
        return remote.Workflows(repo, remote.token(api), self.progress, gh, api, poll_interval=self.args.poll_interval,
                                timeout=self.args.timeout)

    def absorb(self, outcome, owner, stages=None):
        """Add a finished run's results (only ``stages`` when given) to the report.

        A results file that is not one (another run's artifact is data, checked by
        the report library's load_results: its shape and its format version) is a failed
        row saying which file and why; so is a stage asked for that no readable
        file reports (a foreign file, a stage without hosts), and a run that did
        not succeed without any failed row of its own: a failed run never exits 0.
        """
        results = self.collection.results
        before = self.report.failed()
        if not outcome.reports:
            self.report.add_failed(owner, WORKFLOW_HOST, '%s-no-results' % owner, 'run concluded %s, but %s: %s' % (
                outcome.conclusion, outcome.missing, outcome.url), self.check_mode)
            return
        problems, reported = list(outcome.problems), set()
        for name, text in outcome.reports:
            try:
                data = results.load_results(text)
                self.report.add(data, stages)
            except ValueError as exc:
                problems.append('%s: %s' % (name, exc))
                continue
            reported.update(s for s, st in data['stages'].items()
                            if st.get('hosts') and (stages is None or s in stages))
        for why in problems:
            self.report.add_failed(owner, WORKFLOW_HOST, '%s-bad-results' % owner, 'the results of the run cannot '
                                   'be used: %s: %s' % (why, outcome.url), self.check_mode)
        # a file that cannot be used is its own row: a stage it would have reported is not another
        missing = [] if problems else [s for s in stages or [] if s not in reported] or ([] if reported else [owner])
        for stage in missing:
            self.report.add_failed(stage, WORKFLOW_HOST, '%s-no-results' % stage, 'run concluded %s, but its '
                                   'results have no row of %s (no host in its inventory\'s %s group, or a results '
                                   'file of another shape): %s' % (outcome.conclusion, stage, stage, outcome.url),
                                   self.check_mode)
        if outcome.conclusion != 'success' and self.report.failed() == before:
            self.report.add_failed(owner, WORKFLOW_HOST, '%s-run-failed' % owner,
                                   'the workflow run concluded %s without reporting a failed fix: %s' % (
                                       outcome.conclusion, outcome.url), self.check_mode)

    # -- commands -----------------------------------------------------------

    def scan_or_fix(self):
        args = self.args
        chosen = [s for s in STAGES if getattr(args, s)] or list(STAGES)
        if args.on_server and not any(getattr(args, s) for s in STAGES):
            raise CliError('--on-server runs the stages of the server you are on: name them (--staging or --prod)')
        here = [s for s in chosen if s in LOCAL_STAGES or args.on_server]
        there = [s for s in chosen if s not in here]
        github, problem = None, None
        if there:
            try:
                github = self.workflows()
            except CliError as exc:
                problem = exc  # the local stages still run; this is reported after them
        if here:
            self.run_here(here)
        if problem:
            raise problem
        if there and args.command == 'scan':
            # One run of the scan workflow scans every remote stage; show those asked for.
            outcome = github.run(SCAN_WORKFLOW, args.ref, label='scan %s' % '+'.join(there))
            self.absorb(outcome, there[0], there)
        elif there:
            for stage in there:
                self.absorb(github.run(FIX_WORKFLOWS[stage], args.ref, label='fix %s' % stage), stage, [stage])

    def run_here(self, stages):
        args = self.args
        inventories = [local.here(i) for i in args.inventory or self.collection.inventory]
        if not inventories:
            inventories = [self.collection.path('inventories', 'local', 'hosts.yml')]
            if any(s not in LOCAL_STAGES for s in stages):
                inventories.append(self.collection.path('inventories', 'on-server', 'hosts.yml'))
        if args.on_server:
            local.check_on_server(self.collection, [s for s in stages if s not in LOCAL_STAGES], inventories)
        env, secrets = {}, {}
        if 'secrets' in stages:
            # What the secrets stage needs from GitHub, found as the CLI finds it (a bad value is an
            # error here); when it cannot be found the stage itself reports what to set. The API URL
            # and the CA bundle the stage finds itself, in the same variables (github_api.py).
            gh = self.collection.github_api
            try:
                env['GITHUB_REPOSITORY'] = remote.repository(gh, args.repo)
            except remote.NoRepository:
                pass
            try:
                secrets['GITHUB_TOKEN'] = remote.token(remote.api_url(gh))
            except remote.NoToken:
                pass
        # which inventory: from a subdirectory, or without the app's ansible.cfg, it is the collection's own
        if args.inventory:
            origin = '--inventory'
        elif self.collection.inventory:
            origin = 'ANSIBLE_INVENTORY' if os.environ.get('ANSIBLE_INVENTORY') else self.collection.config_file
        else:
            origin = 'the collection\'s default: no --inventory, and no inventory in an ansible.cfg here'
        self.progress.line('%s %s here with factiii.infra.%s (collection %s); inventory %s (%s)' % (
            'scanning' if self.check_mode else 'fixing', ', '.join(stages), args.command, self.collection.source,
            ', '.join(inventories), origin))
        try:
            data = local.run(self.collection, args.command, stages, inventories, self.progress, env, secrets=secrets)
        except local.Interrupted as exc:
            # what ansible-playbook reported before it ended: shown before the CLI exits 130
            if exc.report:
                self.report.add(exc.report, stages)
            raise
        self.report.add(data, stages)

    def deploy(self):
        stage = 'staging' if self.args.staging else 'prod'
        outcome = self.workflows().run(DEPLOY_WORKFLOW, self.args.ref, inputs={'environment': stage},
                                       label='deploy %s' % stage)
        self.absorb(outcome, stage)

    def dev_sync(self):
        args = self.args
        ref = args.ref
        if not ref:
            branch = remote.git('symbolic-ref', '--quiet', '--short', 'HEAD')
            ref = branch or None
        inputs = {'rollback': 'true' if args.rollback else 'false'}
        if args.artifact_run_id:
            inputs['artifact_run_id'] = args.artifact_run_id
        outcome = self.workflows().run(DEV_SYNC_WORKFLOW, ref, inputs=inputs, label='dev-sync staging')
        self.absorb(outcome, 'staging')

    def execute(self):
        """Run the command; print the report and the error, if any; return the exit status."""
        error, interrupted = None, None
        problem = self.collection.results.path_problem(self.args.json) if self.args.json else None
        if problem:
            raise CliError(problem)
        try:
            {'scan': self.scan_or_fix, 'fix': self.scan_or_fix, 'deploy': self.deploy,
             'dev-sync': self.dev_sync}[self.args.command]()
        except CliError as exc:
            error = exc
        except KeyboardInterrupt as exc:
            interrupted = exc  # the report of what ran so far still comes first
        if self.report.stages():
            self.progress.line('')
            sys.stdout.write(self.report.text() + '\n')
            sys.stdout.flush()
        elif error is None and interrupted is None:
            self.progress.line('no stage reported any result (are the stages\' groups empty in the inventory?)')
        if self.args.json:
            problem = self.report.write_json(self.args.json)
            if problem and error is None:
                error = CliError(problem)
        if interrupted is not None:
            raise interrupted
        if error is not None:
            raise error
        return 1 if self.report.failed() else 0


def main(argv=None):
    args = parser().parse_args(argv)
    if getattr(args, 'json', None):
        args.json = os.path.abspath(os.path.expanduser(args.json))  # relative to where the CLI was started
    progress = Progress()
    # SIGTERM (kill, a stopped job) ends the CLI as Ctrl-C does: the report so far, then exit 130
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    try:
        if args.command == 'init':
            return init.run(args)
        return Command(args, progress).execute()
    except CliError as exc:
        progress.line('factiii: error: %s' % exc)
        return 2
    except KeyboardInterrupt:
        progress.line('factiii: interrupted (a workflow run that was started goes on; see the Actions tab)')
        return 130


if __name__ == '__main__':
    sys.exit(main())
