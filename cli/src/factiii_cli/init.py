"""factiii init: write what an app repository needs to use factiii.infra.

    factiii init [--check] [--dir DIR]

Everything comes from one collection tarball, the one this CLI carries
(``factiii_cli/_bundle/factiii-infra-<v>.tar.gz`` in the wheel; in a checkout
installed with ``pip install -e ./cli``, ``build/factiii-infra-<v>.tar.gz`` that
scripts/setup makes): its ``app-template/`` (ansible.cfg, factiii/hosts.yml,
factiii/group_vars/) and its ``workflow-templates/`` (into .github/workflows/),
and the tarball itself, vendored as factiii/collection/factiii-infra-<v>.tar.gz
(the workflows' default collection source). So the files always match the
collection the repository pins.

factiii/.init.json records the collection version and the sha256 of each file as
written. A file still as written is updated when its template changes; a file
that differs from both (the user changed it, or it was there before) is never
overwritten: it is listed with a unified diff against the template, and the
rest is written (exit 0). A file init wrote earlier and no longer writes (the
previous version's tarball) is removed when unchanged. --check writes nothing
and exits 1 when anything differs from the templates. Nothing is written
through a symlink or outside DIR.
"""
import difflib
import hashlib
import io
import json
import os
import re
import sys
import tarfile
import tempfile

from factiii_cli import collection as collections, remote
from factiii_cli.errors import CliError

MANIFEST = 'factiii/.init.json'
VENDOR_DIR = 'factiii/collection'
WORKFLOWS_DIR = '.github/workflows'
APP_TEMPLATE = 'app-template/'
WORKFLOW_TEMPLATES = 'workflow-templates/'
TARBALL = re.compile(r'^factiii-infra-(\d+\.\d+\.\d+(?:[-+][0-9A-Za-z.+-]*)?)\.tar\.gz$')
MAX_MEMBER = 1 << 20  # a template is a few kB; refuse anything that is not one

# what each state means, as printed; the ones --check counts as drift
WHY = {
    'create': 'missing',
    'update': 'the template is newer; unchanged since init wrote it',
    'keep': 'changed by you: kept; the template differs',
    'remove': 'written by an earlier init, no longer part of the templates',
}


def add_parser(sub):
    cmd = sub.add_parser('init', help='write factiii\'s files into an app repository (idempotent)',
                         description='Write ansible.cfg, factiii/hosts.yml, factiii/group_vars/, the '
                                     'factiii-*.yml workflows and the pinned collection into an app '
                                     'repository, from the collection this command carries. A file you changed is '
                                     'never overwritten: it is listed with its difference from the template. Exit '
                                     'status: 0 done (files you changed kept); 1 --check found a difference; 2 '
                                     'error (one line).')
    cmd.add_argument('--check', action='store_true',
                     help='write nothing; list what differs from the templates and exit 1 when anything does')
    cmd.add_argument('--dir', metavar='DIR',
                     help='the app repository (default: the top of the git work tree you are in, else the '
                          'current directory): .github/workflows/ works only there')


def sha256(data):
    return hashlib.sha256(data).hexdigest()


def bundled_tarball():
    """The collection tarball this CLI carries, or the one scripts/setup built in its checkout."""
    carried = collections.bundled_tarball()
    if carried:
        return carried
    root = collections._checkout_root()
    if root:
        import yaml  # ansible-core's dependency
        with open(os.path.join(root, 'galaxy.yml')) as handle:
            version = yaml.safe_load(handle)['version']
        path = os.path.join(root, 'build', 'factiii-infra-%s.tar.gz' % version)
        if not os.path.isfile(path):
            raise CliError('%s is missing: run scripts/setup in %s (it builds the collection tarball init vendors)'
                           % (path, root))
        return path
    raise CliError('this factiii carries no collection tarball: install the factiii_cli wheel of a release')


class Templates:
    """What a collection tarball gives an app repository: {relative path: bytes}."""

    def __init__(self, tarball):
        self.tarball = tarball
        try:
            with open(tarball, 'rb') as handle:
                self.data = handle.read()
        except OSError as exc:
            raise CliError('cannot read the collection tarball: %s' % exc)
        self.files = {}
        try:
            with tarfile.open(fileobj=io.BytesIO(self.data), mode='r:gz') as tar:
                info = self._member(tar, 'MANIFEST.json')
                for member in tar.getmembers():
                    target = self._target(member.name)
                    if target and member.isfile():
                        self.files[target] = self._member(tar, member.name)
        except (tarfile.TarError, OSError, EOFError, KeyError) as exc:
            raise CliError('%s is not a collection tarball: %s' % (tarball, exc))
        try:
            meta = json.loads(info)['collection_info']
            name, self.version = '%s.%s' % (meta['namespace'], meta['name']), meta['version']
        except (ValueError, KeyError, TypeError) as exc:
            raise CliError('%s has no readable MANIFEST.json: %s' % (tarball, exc))
        vendored = 'factiii-infra-%s.tar.gz' % self.version
        if name != 'factiii.infra' or not TARBALL.match(vendored):
            raise CliError('%s is %s %s, not a factiii.infra release' % (tarball, name, self.version))
        if not any(p.startswith(WORKFLOWS_DIR + '/') for p in self.files) or 'ansible.cfg' not in self.files:
            raise CliError('%s has no app-template/ or workflow-templates/: it is older than this CLI' % tarball)
        self.files['%s/%s' % (VENDOR_DIR, vendored)] = self.data

    @staticmethod
    def _member(tar, name):
        member = tar.getmember(name)
        if not member.isfile() or member.size > MAX_MEMBER:
            raise CliError('%s in the collection tarball is not a small regular file' % name)
        return tar.extractfile(member).read()

    @staticmethod
    def _target(name):
        """Where a member of the tarball goes in the app repository (None: nowhere)."""
        if name.startswith(APP_TEMPLATE):
            return name[len(APP_TEMPLATE):]
        if name.startswith(WORKFLOW_TEMPLATES):
            base = name[len(WORKFLOW_TEMPLATES):]
            if '/' not in base and (base == 'factiii-requirements.txt' or re.match(r'^factiii-[a-z-]+\.yml$', base)):
                return '%s/%s' % (WORKFLOWS_DIR, base)
        return None


class Repository:
    """The app repository DIR: reads and writes below it, never through a symlink."""

    def __init__(self, path):
        if not os.path.isdir(path):
            raise CliError('--dir %s is not a directory' % path)
        self.root = os.path.realpath(path)

    def path(self, rel):
        """The absolute path of ``rel``; a CliError when a part of it is a symlink or not a directory."""
        parts = rel.split('/')
        if any(p in ('', '.', '..') for p in parts):
            raise CliError('refusing the path %r: not a plain relative path' % rel)
        current = self.root
        for i, part in enumerate(parts):
            current = os.path.join(current, part)
            if os.path.islink(current):
                raise CliError('refusing to write %s: %s is a symlink' % (rel, '/'.join(parts[:i + 1])))
            last = i == len(parts) - 1
            if os.path.lexists(current) and not (os.path.isfile(current) if last else os.path.isdir(current)):
                raise CliError('refusing to write %s: %s is not a %s' % (
                    rel, '/'.join(parts[:i + 1]), 'regular file' if last else 'directory'))
        return current

    def read(self, rel):
        path = self.path(rel)
        if not os.path.exists(path):
            return None
        try:
            with open(path, 'rb') as handle:
                return handle.read()
        except OSError as exc:
            raise CliError('cannot read %s: %s' % (rel, exc.strerror or exc))

    def write(self, rel, data):
        path = self.path(rel)
        try:
            os.makedirs(os.path.dirname(path), exist_ok=True)
            self.path(rel)  # again: no directory on the way was swapped for a symlink meanwhile
            fd, temp = tempfile.mkstemp(dir=os.path.dirname(path), prefix='.factiii-init.')
            try:
                with os.fdopen(fd, 'wb') as handle:
                    handle.write(data)
                os.chmod(temp, 0o644)
                os.replace(temp, path)  # replaces a symlink itself, never what it points to
            except BaseException:
                os.unlink(temp)
                raise
        except OSError as exc:
            raise CliError('cannot write %s: %s' % (rel, exc.strerror or exc))

    def remove(self, rel):
        try:
            os.unlink(self.path(rel))
        except OSError as exc:
            raise CliError('cannot remove %s: %s' % (rel, exc.strerror or exc))


def owned(rel):
    """Whether ``rel`` is a path init writes: the only ones a manifest entry may have it remove."""
    return rel == 'ansible.cfg' or rel.startswith('factiii/') or rel.startswith(WORKFLOWS_DIR + '/factiii-')


def read_manifest(repo):
    """{path: sha256 as written} of the last init ({} when there was none)."""
    text = repo.read(MANIFEST)
    if text is None:
        return {}
    try:
        files = json.loads(text.decode('utf-8'))['files']
        if not all(isinstance(k, str) and isinstance(v, str) for k, v in files.items()):
            raise ValueError('a file\'s entry is not a sha256')
        return files
    except (ValueError, KeyError, TypeError, AttributeError, UnicodeDecodeError) as exc:
        raise CliError('%s is not the manifest factiii init writes (%s): remove it and run init again '
                       '(files that differ from the templates are then kept)' % (MANIFEST, exc))


def plan(repo, templates, manifest):
    """[(state, path, current bytes or None, template bytes or None)], sorted by path."""
    steps = []
    for rel, new in sorted(templates.files.items()):
        current = repo.read(rel)
        if current is None:
            state = 'create'
        elif current == new:
            state = 'ok'
        elif manifest.get(rel) == sha256(current):
            state = 'update'
        else:
            state = 'keep'
        steps.append((state, rel, current, new))
    for rel in sorted(r for r in set(manifest) - set(templates.files) if owned(r)):
        current = repo.read(rel)
        if current is not None and sha256(current) == manifest[rel]:
            steps.append(('remove', rel, current, None))
    return steps


def diff(rel, current, new):
    """A unified diff from the user's file to the template ('' for a binary file)."""
    try:
        old_lines, new_lines = current.decode('utf-8').splitlines(True), new.decode('utf-8').splitlines(True)
    except UnicodeDecodeError:
        return '    (binary file: sha256 %s, the template\'s %s)\n' % (sha256(current), sha256(new))
    lines = difflib.unified_diff(old_lines, new_lines, 'a/%s (yours)' % rel, 'b/%s (template)' % rel)
    return ''.join(line if line.endswith('\n') else line + '\n\\ No newline at end of file\n' for line in lines)


def check(steps, manifest, version, where, out):
    """init --check: writes nothing; exit 1 when the repository drifted from this version's templates.

    A file the user changed whose template is still the one init wrote (a filled-in inventory)
    is theirs, not drift: it is listed, and alone it does not make the check fail."""
    yours = [rel for state, rel, _current, new in steps if state == 'keep' and manifest.get(rel) == sha256(new)]
    drift = [step for step in steps if step[0] != 'ok' and step[1] not in yours]
    if not drift:
        mine = ' (changed by you, from templates that have not changed: %s)' % ', '.join(yours) if yours else ''
        out.write('up to date: %s%s\n' % (where, mine))
        return 0
    out.write('checking %s\n' % where)
    label = {'create': 'would create', 'update': 'would update', 'remove': 'would remove'}
    for state, rel, current, new in drift:
        if state == 'keep':
            out.write('kept     %s: %s:\n%s' % (rel, WHY[state], diff(rel, current, new)))
        else:
            out.write('%-8s %s (%s)\n' % (label[state], rel, WHY[state]))
    kept = sum(1 for step in drift if step[0] == 'keep')
    todo = len(drift) - kept
    out.write('%d file(s) differ from the templates of factiii.infra %s%s%s\n' % (
        len(drift), version, ': `factiii init` writes %d' % todo if todo else '',
        '; %d changed by you (init keeps them)' % kept if kept else ''))
    return 1


def run(args, out=sys.stdout):
    """factiii init; returns the exit status (CliError for what stops it)."""
    # From a subdirectory of the app's clone, the files belong at its top: GitHub reads workflows there only.
    repo = Repository(args.dir or remote.git('rev-parse', '--show-toplevel') or '.')
    templates = Templates(bundled_tarball())
    manifest = read_manifest(repo)
    steps = plan(repo, templates, manifest)
    where = 'factiii.infra %s into %s' % (templates.version, repo.root)
    changes = [s for s in steps if s[0] != 'ok']
    if args.check:
        return check(steps, manifest, templates.version, where, out)
    if not changes:
        out.write('up to date: %s\n' % where)
        return 0
    label = {'create': 'created', 'update': 'updated', 'remove': 'removed'}
    out.write('init %s\n' % where)
    written = dict((rel, manifest[rel]) for rel in manifest if rel in templates.files)
    for state, rel, current, new in steps:
        if state == 'keep':
            out.write('kept     %s: %s:\n%s' % (rel, WHY[state], diff(rel, current, new)))
        elif state != 'ok':
            out.write('%-8s %s (%s)\n' % (label[state], rel, WHY[state]))
        if state == 'keep':
            continue
        if state in ('create', 'update'):
            repo.write(rel, new)
        elif state == 'remove':
            repo.remove(rel)
        if state != 'remove':
            written[rel] = sha256(new)
    kept = [rel for state, rel, _current, _new in steps if state == 'keep']
    record = (json.dumps({'collection': 'factiii.infra', 'version': templates.version, 'files': written},
                         indent=2, sort_keys=True) + '\n').encode()
    if repo.read(MANIFEST) != record:
        repo.write(MANIFEST, record)
    if kept:
        out.write('kept %d file(s) you changed: %s (to take a template, remove the file and run init again)\n'
                  % (len(kept), ', '.join(kept)))
    return 0
