"""A local stand-in for the parts of GitHub's REST API the factiii CLI uses.

A threading HTTP server on 127.0.0.1 (random port) that answers like GitHub's
documented endpoints, with payloads of the same shape:

    GET  /repos/{owner}/{repo}                                      get a repository
    GET  /repos/{owner}/{repo}/actions/workflows/{file}             get a workflow
    POST /repos/{owner}/{repo}/actions/workflows/{file}/dispatches  create a workflow dispatch event
    GET  /repos/{owner}/{repo}/actions/workflows/{file}/runs        list workflow runs for a workflow
    GET  /repos/{owner}/{repo}/actions/runs/{id}                    get a workflow run
    GET  /repos/{owner}/{repo}/actions/runs/{id}/jobs               list jobs for a workflow run
    GET  /repos/{owner}/{repo}/actions/runs/{id}/artifacts          list workflow run artifacts
    GET  /repos/{owner}/{repo}/actions/artifacts/{id}/zip           download an artifact (302 to storage)
    GET  /repos/{owner}/{repo}/actions/secrets                      list repository secrets (the secrets stage)
    GET  /repos/{owner}/{repo}/environments/{env}/secrets           list environment secrets (the secrets stage)
    GET  /blob/{id}                                                 the "storage service" (another host name)

Every request is recorded (``requests``); ``unversioned()`` lists the API requests
sent without GitHub's ``X-GitHub-Api-Version`` header (the ``fake`` fixture fails a
test that sent one). ``FakeGitHub(tls=make_certificate(dir))`` serves HTTPS with
a self-signed certificate made for the test (its URL then names ``localhost``).

Each workflow already has two older runs on the default branch: a completed
one and one still queued, which the CLI must never take for the one it started.
A dispatched run shows up in the runs list only after ``appear_after`` list
calls, then moves through ``plan.states`` one step per "get a run" call (a slow
run). ``inject`` makes chosen requests answer with an error first (rate limits).
"""
import io
import json
import re
import ssl
import threading
import zipfile
from datetime import datetime, timedelta, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse

DOCS = 'https://docs.github.com/rest'
WORKFLOW_INPUTS = {
    'factiii-scan.yml': (),
    'factiii-fix-staging.yml': (),
    'factiii-fix-prod.yml': (),
    'factiii-deploy.yml': ('environment',),
    'factiii-dev-sync.yml': ('rollback', 'artifact_run_id'),
}
SLOW = [('queued', None), ('queued', None), ('in_progress', None), ('in_progress', None), ('completed', 'success')]


def iso(moment):
    return moment.strftime('%Y-%m-%dT%H:%M:%SZ')


def now():
    return datetime.now(timezone.utc).replace(microsecond=0)


class Plan:
    """What a dispatched run of one workflow does: its states, then its artifacts."""

    def __init__(self, states=None, artifacts=None):
        self.states = list(states or SLOW)
        # artifact name -> {file name in the zip: JSON-able object}
        self.artifacts = artifacts if artifacts is not None else {}


class FakeGitHub:

    def __init__(self, token='good-token', repo='acme/app', default_branch='main', branches=('main', 'v1.2'),
                 tls=None):
        self.token = token
        self.repo = repo
        self.default_branch = default_branch
        self.branches = set(branches)
        self.plans = {}
        self.requests = []
        self.blob_requests = []
        self.dispatches = []
        self.injections = []
        self._hold = None
        self.appear_after = 1
        self.return_details = False
        self.reject_details = False
        self.disabled = set()
        self.missing = set()
        self.runs = []
        self.artifacts = {}
        # what the jobs of a run are called (GitHub answers whatever the workflow file says)
        self.job_name = 'stage job'
        self.step_name = 'Run the stage (one SSH connection per host)'
        self._ids = iter(range(9000, 100000))
        self._numbers = {}
        self._lock = threading.Lock()
        self.workflow_ids = dict((name, 161000 + i) for i, name in enumerate(sorted(WORKFLOW_INPUTS)))
        for name in sorted(WORKFLOW_INPUTS):
            old = self._new_run(name, default_branch, 'workflow_dispatch', now() - timedelta(hours=1),
                                [('completed', 'success')], {'factiii-results-old': {'old.json': OLD_REPORT}})
            old['visible_after'] = 0
            queued = self._new_run(name, default_branch, 'workflow_dispatch', now() - timedelta(minutes=10),
                                   [('queued', None)], {})
            queued['visible_after'] = 0
        # the Actions secrets the secrets stage lists: None for the repository's, else an environment's
        self.secrets = {None: [], 'staging': ['STAGING_SSH'], 'prod': ['PROD_SSH']}
        self.server = ThreadingHTTPServer(('127.0.0.1', 0), _handler(self))
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self.scheme = 'https' if tls else 'http'
        self.url = '%s://%s:%d' % (self.scheme, 'localhost' if tls else '127.0.0.1', self.port)
        if tls:
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            context.load_cert_chain(*tls)
            self.server.socket = context.wrap_socket(self.server.socket, server_side=True)
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={'poll_interval': 0.05}, daemon=True)
        self.thread.start()

    # -- test controls ------------------------------------------------------

    def plan(self, workflow, states=None, artifacts=None):
        self.plans[workflow] = Plan(states, artifacts)

    def inject(self, method, path, status, body=None, headers=None, times=1):
        """The next ``times`` requests ``method`` on a path matching ``path`` get this answer instead
        (``status`` 'drop': the connection is closed without an answer)."""
        self.injections.append({'method': method, 'path': re.compile(path), 'status': status,
                                'body': body, 'headers': headers or {}, 'times': times})

    def hold(self, path):
        """Requests on a path matching ``path`` wait (unanswered) until release(); held() tells one came."""
        self._hold = {'path': re.compile(path), 'seen': threading.Event(), 'release': threading.Event(), 'requests': []}
        return self._hold

    def release(self):
        if self._hold:
            self._hold['release'].set()

    def stop(self):
        self.release()
        self.server.shutdown()
        self.server.server_close()

    def started(self):
        """The runs created by dispatches, oldest first."""
        return [r for r in self.runs if r.get('dispatched')]

    def unversioned(self):
        """The API requests (not the storage's) sent without X-GitHub-Api-Version: 2022-11-28."""
        return [r for r in self.requests if not r['path'].startswith('/blob/')
                and dict((k.lower(), v) for k, v in r['headers'].items()).get('x-github-api-version') != '2022-11-28']

    def calls(self, method, pattern):
        return [r for r in self.requests if r['method'] == method and re.search(pattern, r['path'])]

    # -- the model ----------------------------------------------------------

    def _new_run(self, workflow, branch, event, created, states, artifacts, dispatched=False):
        run_id = next(self._ids)
        number = self._numbers.get(workflow, 40) + 1
        self._numbers[workflow] = number
        run = {'id': run_id, 'workflow': workflow, 'branch': branch, 'event': event, 'created': created,
               'states': list(states), 'polls': 0, 'artifacts': artifacts, 'number': number,
               'dispatched': dispatched, 'visible_after': self.appear_after, 'lists': 0}
        self.runs.append(run)
        return run

    def _state(self, run, advance=False):
        status, conclusion = run['states'][min(run['polls'], len(run['states']) - 1)]
        if advance:
            run['polls'] += 1
        return status, conclusion

    def run_json(self, run, advance=False):
        status, conclusion = self._state(run, advance)
        api = '%s/repos/%s' % (self.url, self.repo)
        web = 'https://github.com/%s' % self.repo
        sha = '%040x' % run['id']
        created = iso(run['created'])
        owner = {'login': 'dev-user', 'id': 1001, 'type': 'User', 'url': '%s/users/dev-user' % self.url}
        repository = {'id': 4242, 'name': self.repo.split('/')[1], 'full_name': self.repo, 'private': True,
                      'owner': {'login': self.repo.split('/')[0], 'id': 77, 'type': 'Organization'},
                      'url': api, 'html_url': web}
        return {
            'id': run['id'], 'name': run['workflow'], 'node_id': 'WFR_%d' % run['id'],
            'head_branch': run['branch'], 'head_sha': sha, 'path': '.github/workflows/%s' % run['workflow'],
            'display_title': run['workflow'], 'run_number': run['number'], 'event': run['event'],
            'status': status, 'conclusion': conclusion, 'workflow_id': self.workflow_ids[run['workflow']],
            'check_suite_id': run['id'] + 1, 'check_suite_node_id': 'CS_%d' % run['id'],
            'url': '%s/actions/runs/%d' % (api, run['id']), 'html_url': '%s/actions/runs/%d' % (web, run['id']),
            'pull_requests': [], 'created_at': created, 'updated_at': created, 'run_attempt': 1,
            'referenced_workflows': [], 'run_started_at': created, 'actor': owner, 'triggering_actor': owner,
            'jobs_url': '%s/actions/runs/%d/jobs' % (api, run['id']),
            'logs_url': '%s/actions/runs/%d/logs' % (api, run['id']),
            'check_suite_url': '%s/check-suites/%d' % (api, run['id'] + 1),
            'artifacts_url': '%s/actions/runs/%d/artifacts' % (api, run['id']),
            'cancel_url': '%s/actions/runs/%d/cancel' % (api, run['id']),
            'rerun_url': '%s/actions/runs/%d/rerun' % (api, run['id']),
            'previous_attempt_url': None,
            'workflow_url': '%s/actions/workflows/%d' % (api, self.workflow_ids[run['workflow']]),
            'head_commit': {'id': sha, 'tree_id': sha, 'message': 'app change', 'timestamp': created,
                            'author': {'name': 'Dev', 'email': 'dev@example.com'},
                            'committer': {'name': 'Dev', 'email': 'dev@example.com'}},
            'repository': repository, 'head_repository': repository,
        }

    def workflow_json(self, name):
        api = '%s/repos/%s' % (self.url, self.repo)
        wid = self.workflow_ids[name]
        return {'id': wid, 'node_id': 'W_%d' % wid, 'name': name.replace('.yml', '').replace('-', ' '),
                'path': '.github/workflows/%s' % name,
                'state': 'disabled_manually' if name in self.disabled else 'active',
                'created_at': '2026-01-05T10:00:00Z', 'updated_at': '2026-01-05T10:00:00Z',
                'url': '%s/actions/workflows/%d' % (api, wid),
                'html_url': 'https://github.com/%s/blob/main/.github/workflows/%s' % (self.repo, name),
                'badge_url': 'https://github.com/%s/workflows/%s/badge.svg' % (self.repo, name)}

    def repo_json(self):
        owner, name = self.repo.split('/')
        api = '%s/repos/%s' % (self.url, self.repo)
        return {'id': 4242, 'node_id': 'R_4242', 'name': name, 'full_name': self.repo, 'private': True,
                'owner': {'login': owner, 'id': 77, 'type': 'Organization', 'url': '%s/users/%s' % (self.url, owner)},
                'html_url': 'https://github.com/%s' % self.repo, 'description': 'the app', 'fork': False,
                'url': api, 'default_branch': self.default_branch, 'visibility': 'private',
                'created_at': '2025-03-01T09:00:00Z', 'updated_at': '2026-01-05T10:00:00Z',
                'pushed_at': '2026-01-05T10:00:00Z', 'archived': False, 'disabled': False,
                'permissions': {'admin': False, 'maintain': False, 'push': True, 'triage': True, 'pull': True}}

    def artifacts_json(self, run):
        api = '%s/repos/%s' % (self.url, self.repo)
        items = []
        for name, files in sorted(run['artifacts'].items()):
            key = (run['id'], name)
            if key not in self.artifacts:
                self.artifacts[key] = next(self._ids)
            aid = self.artifacts[key]
            blob = zip_of(files)
            created = iso(run['created'])
            items.append({
                'id': aid, 'node_id': 'MDg6QXJ0aWZhY3Q%d' % aid, 'name': name, 'size_in_bytes': len(blob),
                'url': '%s/actions/artifacts/%d' % (api, aid),
                'archive_download_url': '%s/actions/artifacts/%d/zip' % (api, aid),
                'expired': False, 'created_at': created, 'updated_at': created,
                'expires_at': iso(run['created'] + timedelta(days=90)), 'digest': 'sha256:%064x' % aid,
                'workflow_run': {'id': run['id'], 'repository_id': 4242, 'head_repository_id': 4242,
                                 'head_branch': run['branch'], 'head_sha': '%040x' % run['id']}})
        return {'total_count': len(items), 'artifacts': items}

    def artifact_blob(self, aid):
        for (run_id, name), known in self.artifacts.items():
            if known == aid:
                run = next(r for r in self.runs if r['id'] == run_id)
                return zip_of(run['artifacts'][name])
        return None

    def jobs_json(self, run):
        # the state the run was last shown in
        status, conclusion = run['states'][min(max(run['polls'] - 1, 0), len(run['states']) - 1)]
        done = {'status': 'completed', 'conclusion': 'success'}
        steps = [dict(done, name='Set up job', number=1), dict(done, name='Install ansible-core and the collection', number=2)]
        if status == 'in_progress':
            steps.append({'name': self.step_name, 'status': 'in_progress',
                          'conclusion': None, 'number': 3})
        api = '%s/repos/%s' % (self.url, self.repo)
        job = {'id': run['id'] * 10, 'run_id': run['id'], 'run_url': '%s/actions/runs/%d' % (api, run['id']),
               'node_id': 'CR_%d' % run['id'], 'head_sha': '%040x' % run['id'], 'url': '%s/actions/jobs/%d' % (api, run['id'] * 10),
               'html_url': 'https://github.com/%s/actions/runs/%d/job/%d' % (self.repo, run['id'], run['id'] * 10),
               'status': status, 'conclusion': conclusion, 'started_at': iso(run['created']), 'completed_at': None,
               'name': self.job_name, 'steps': steps, 'check_run_url': '%s/check-runs/%d' % (api, run['id'] * 10),
               'labels': ['ubuntu-24.04'], 'runner_id': 1, 'runner_name': 'GitHub Actions 1',
               'runner_group_id': 1, 'runner_group_name': 'GitHub Actions', 'workflow_name': run['workflow'],
               'head_branch': run['branch'], 'run_attempt': 1, 'created_at': iso(run['created'])}
        return {'total_count': 1, 'jobs': [job]}


OLD_REPORT = {'check_mode': False, 'stages': {'staging': {'fixed': 0, 'manual': 0, 'failed': 1, 'ok': 0, 'hosts': {
    'old-host': {'fixed': 0, 'manual': 0, 'failed': 1, 'ok': 0, 'results': [
        {'fix_id': 'staging-OLD-RUN', 'status': 'failed', 'msg': 'an older run, not the one started', 'steps': []}]}}}},
    'total': {'fixed': 0, 'manual': 0, 'failed': 1, 'ok': 0}}


def make_certificate(directory):
    """(certificate file, key file): a self-signed certificate for localhost and 127.0.0.1."""
    import ipaddress
    import os
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, 'fake GitHub test CA')])
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now() - timedelta(days=1)).not_valid_after(now() + timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName([x509.DNSName('localhost'),
                                                        x509.IPAddress(ipaddress.ip_address('127.0.0.1'))]), False)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), True)
            .sign(key, hashes.SHA256()))
    cert_file, key_file = os.path.join(str(directory), 'fake-github.pem'), os.path.join(str(directory), 'fake-github.key')
    with open(cert_file, 'wb') as handle:
        handle.write(cert.public_bytes(serialization.Encoding.PEM))
    with open(key_file, 'wb') as handle:
        handle.write(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                       serialization.NoEncryption()))
    return cert_file, key_file


def zip_of(files):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, 'w', zipfile.ZIP_DEFLATED) as archive:
        for name, data in sorted(files.items()):
            archive.writestr(name, data if isinstance(data, (bytes, str)) else json.dumps(data, indent=2))
    return buffer.getvalue()


def _handler(fake):

    class Handler(BaseHTTPRequestHandler):
        protocol_version = 'HTTP/1.1'

        def log_message(self, *args):  # quiet
            return

        def _send(self, status, body=None, headers=None, raw=None, content_type='application/json; charset=utf-8'):
            payload = raw if raw is not None else (json.dumps(body).encode() if body is not None else b'')
            self.send_response(status)
            reset = int(now().timestamp()) + 3600
            base = {'X-RateLimit-Limit': '5000', 'X-RateLimit-Remaining': '4990', 'X-RateLimit-Used': '10',
                    'X-RateLimit-Reset': str(reset), 'X-RateLimit-Resource': 'core',
                    'X-GitHub-Api-Version-Selected': '2022-11-28', 'X-GitHub-Request-Id': 'FAKE:%d' % id(self)}
            base.update(headers or {})
            for key, value in base.items():
                self.send_header(key, value)
            if payload or status not in (204, 304):
                self.send_header('Content-Type', content_type)
            self.send_header('Content-Length', str(len(payload)))
            self.end_headers()
            if payload:
                self.wfile.write(payload)

        def _error(self, status, message):
            self._send(status, {'message': message, 'documentation_url': DOCS, 'status': str(status)})

        def do_GET(self):
            self._serve('GET')

        def do_POST(self):
            self._serve('POST')

        def _serve(self, method):
            url = urlparse(self.path)
            length = int(self.headers.get('Content-Length') or 0)
            body = self.rfile.read(length) if length else b''
            hold = fake._hold
            if hold and hold['path'].search(url.path):
                hold['requests'].append({'path': url.path, 'authorization': self.headers.get('Authorization')})
                hold['seen'].set()
                hold['release'].wait(600)
            with fake._lock:
                fake.requests.append({'method': method, 'path': url.path, 'query': parse_qs(url.query),
                                      'headers': dict(self.headers), 'body': body})
                if url.path.startswith('/blob/'):
                    return self._blob(url)
                for rule in fake.injections:
                    if rule['times'] > 0 and rule['method'] == method and rule['path'].search(url.path):
                        rule['times'] -= 1
                        if rule['status'] == 'drop':
                            # the network lets the connection fall: no answer at all
                            self.close_connection = True
                            return None
                        return self._send(rule['status'], rule['body'], rule['headers'])
                auth = self.headers.get('Authorization') or ''
                if auth not in ('token %s' % fake.token, 'Bearer %s' % fake.token):
                    return self._error(401, 'Bad credentials')
                prefix = '/repos/%s' % fake.repo
                if url.path != prefix and not url.path.startswith(prefix + '/'):
                    return self._error(404, 'Not Found')
                rest = url.path[len(prefix):]
                query = dict((k, v[0]) for k, v in parse_qs(url.query).items())
                return self._route(method, rest, query, body)

        def _route(self, method, rest, query, body):
            if method == 'GET' and rest == '':
                return self._send(200, fake.repo_json())
            match = re.match(r'^/actions/workflows/([^/]+)(/dispatches|/runs)?$', rest)
            if match:
                name, tail = match.groups()
                # a workflow is named by its file name or its id, as on GitHub
                name = dict((str(v), k) for k, v in fake.workflow_ids.items()).get(name, name)
                if name not in WORKFLOW_INPUTS or name in fake.missing:
                    return self._error(404, 'Not Found')
                if method == 'GET' and not tail:
                    return self._send(200, fake.workflow_json(name))
                if method == 'POST' and tail == '/dispatches':
                    return self._dispatch(name, json.loads(body or b'{}'))
                if method == 'GET' and tail == '/runs':
                    return self._list(name, query)
            match = re.match(r'^/actions/runs/(\d+)(/jobs|/artifacts)?$', rest)
            if match and method == 'GET':
                run = next((r for r in fake.runs if r['id'] == int(match.group(1))), None)
                if run is None:
                    return self._error(404, 'Not Found')
                if match.group(2) == '/jobs':
                    return self._send(200, fake.jobs_json(run))
                if match.group(2) == '/artifacts':
                    return self._send(200, fake.artifacts_json(run))
                return self._send(200, fake.run_json(run, advance=True))
            match = re.match(r'^/actions/artifacts/(\d+)/zip$', rest)
            if match and method == 'GET':
                aid = int(match.group(1))
                if fake.artifact_blob(aid) is None:
                    return self._error(404, 'Not Found')
                location = '%s://localhost:%d/blob/%d?sig=signed-for-one-minute' % (fake.scheme, fake.port, aid)
                return self._send(302, headers={'Location': location})
            match = re.match(r'^(?:/actions|/environments/([^/]+))/secrets$', rest)
            if match and method == 'GET':
                names = fake.secrets.get(match.group(1))
                if names is None:
                    return self._error(404, 'Not Found')
                return self._send(200, {'total_count': len(names), 'secrets': [
                    {'name': n, 'created_at': '2026-01-05T10:00:00Z', 'updated_at': '2026-01-05T10:00:00Z'}
                    for n in names]})
            return self._error(404, 'Not Found')

        def _dispatch(self, name, payload):
            ref = payload.get('ref')
            inputs = payload.get('inputs') or {}
            if 'return_run_details' in payload and fake.reject_details:
                return self._error(422, 'Invalid request.\n\n"return_run_details" is not a permitted key.')
            if ref not in fake.branches:
                return self._error(422, 'No ref found for: %s' % ref)
            unexpected = sorted(set(inputs) - set(WORKFLOW_INPUTS[name]))
            if unexpected:
                return self._error(422, 'Unexpected inputs provided: %s' % json.dumps(unexpected))
            plan = fake.plans.get(name) or Plan()
            run = fake._new_run(name, ref, 'workflow_dispatch', now(), plan.states, plan.artifacts, dispatched=True)
            fake.dispatches.append({'workflow': name, 'ref': ref, 'inputs': inputs, 'payload': payload, 'run': run['id']})
            if name == 'factiii-scan.yml':
                # the daily schedule fires at the same moment: not the CLI's run
                sched = fake._new_run(name, ref, 'schedule', now(), [('queued', None)], {})
                sched['visible_after'] = 0
            if payload.get('return_run_details') and fake.return_details:
                api = '%s/repos/%s' % (fake.url, fake.repo)
                return self._send(200, {'workflow_run_id': run['id'], 'run_url': '%s/actions/runs/%d' % (api, run['id']),
                                        'html_url': 'https://github.com/%s/actions/runs/%d' % (fake.repo, run['id'])})
            return self._send(204)

        def _list(self, name, query):
            runs = []
            for run in fake.runs:
                if run['workflow'] != name:
                    continue
                if run['lists'] < run['visible_after']:
                    run['lists'] += 1
                    continue
                if query.get('branch') and run['branch'] != query['branch']:
                    continue
                if query.get('event') and run['event'] != query['event']:
                    continue
                # the "created" filter is deliberately not applied: the CLI must not rely on it alone
                runs.append(run)
            runs.sort(key=lambda r: (r['created'], r['id']), reverse=True)
            per_page = int(query.get('per_page', 30))
            page = int(query.get('page', 1))
            chosen = runs[(page - 1) * per_page:page * per_page]
            return self._send(200, {'total_count': len(runs), 'workflow_runs': [fake.run_json(r) for r in chosen]})

        def _blob(self, url):
            fake.blob_requests.append({'path': url.path, 'authorization': self.headers.get('Authorization'),
                                       'host': self.headers.get('Host')})
            blob = fake.artifact_blob(int(url.path.rsplit('/', 1)[1]))
            if blob is None or 'sig=' not in url.query:
                return self._send(403, raw=b'<Error>AuthenticationFailed</Error>', content_type='application/xml')
            return self._send(200, raw=blob, content_type='application/zip')

    return Handler
