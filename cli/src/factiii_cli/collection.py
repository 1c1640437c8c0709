"""Where the factiii.infra collection is, and its RESULTS BY STAGE functions.

The CLI runs the collection's own playbooks and prints its callback's own report
(``results_by_stage``: new_report, add_results, format_report, write_json), so it
needs the collection on this machine:

1. installed where Ansible looks for collections (ANSIBLE_COLLECTIONS_PATH, the
   collections_path of the ansible.cfg in force, Ansible's defaults, and the
   Python path), as ansible-playbook itself would find it; else
2. the checkout this package was installed from in editable mode (``pip install
   -e ./cli`` in the collection's repository), made importable as
   ansible_collections.factiii.infra through a symlink in a temporary directory.

The wheel built by scripts/build-dist installs the collection it was built with
into site-packages (``ansible_collections/factiii/infra``): Ansible scans the
Python path after the collections paths, so that copy is used when no other
factiii.infra is installed, and a copy installed elsewhere (ANSIBLE_COLLECTIONS_PATH,
~/.ansible/collections) wins, as it does for ansible-playbook. ``factiii
--version`` says which one is used.
"""
import atexit
import importlib
import json
import os
import re
import shutil
import sys
import tempfile

from factiii_cli.errors import CliError

PARTS = ('ansible_collections', 'factiii', 'infra')
# what the CLI uses of the report library (results files are checked and text is made printable there)
NEEDED = ('new_report', 'add_report', 'add_results', 'load_results', 'printable', 'format_report', 'write_json')


class Collection:
    """An installed (or linked) factiii.infra: ``base`` is the collections path that holds it."""

    def __init__(self, base, source, searched=(), config_file=None, inventory=None):
        self.base = base
        self.source = source
        # what ansible-playbook would use from here: the other collections paths, the ansible.cfg,
        # the inventory it sets (or ANSIBLE_INVENTORY), as absolute paths
        self.searched = [p for p in searched if p != base]
        self.config_file = config_file
        self.inventory = list(inventory or [])
        self.root = os.path.join(base, *PARTS)
        self._callback = None

    def path(self, *parts):
        return os.path.join(self.root, *parts)

    @property
    def version(self):
        """The version of this collection: its MANIFEST.json (installed) or galaxy.yml (a checkout)."""
        try:
            with open(self.path('MANIFEST.json')) as handle:
                return '%s' % json.load(handle)['collection_info']['version']
        except (OSError, ValueError, KeyError, TypeError):
            pass
        try:
            import yaml
            with open(self.path('galaxy.yml')) as handle:
                return '%s' % yaml.safe_load(handle)['version']
        except Exception:  # the version is shown, never needed: unknown is an answer
            return 'unknown'

    def _import(self, *parts):
        """The module ansible_collections.factiii.infra.<parts> of this collection (not another copy)."""
        if self.base not in sys.path:
            sys.path.insert(0, self.base)
        name = '.'.join(PARTS + parts)
        try:
            module = importlib.import_module(name)
        except ImportError as exc:
            raise CliError('cannot load %s of factiii.infra in %s: %s' % ('/'.join(parts), self.root, exc))
        if not os.path.realpath(module.__file__).startswith(os.path.realpath(self.root) + os.sep):
            raise CliError('another copy of factiii.infra was already imported from %s' % module.__file__)
        return module

    @property
    def callback(self):
        """The results_by_stage callback module of this collection."""
        if self._callback is None:
            self._callback = self._import('plugins', 'callback', 'results_by_stage')
            missing = [name for name in NEEDED if not hasattr(self._callback, name)]
            if missing:
                raise CliError('factiii.infra in %s is older than this CLI (its results_by_stage callback has no %s): '
                               'install the collection of the same version as the CLI' % (self.root, ', '.join(missing)))
        return self._callback

    @property
    def github_api(self):
        """What the CLI and the secrets stage share about GitHub's API (plugin_utils/github_api.py)."""
        return self._import('plugins', 'plugin_utils', 'github_api')


def _is_collection(root):
    return os.path.isfile(os.path.join(root, 'plugins', 'callback', 'results_by_stage.py')) and (
        os.path.isfile(os.path.join(root, 'MANIFEST.json')) or os.path.isfile(os.path.join(root, 'galaxy.yml')))


def _search_paths():
    """The collections paths in the order ansible-playbook searches them."""
    try:
        from ansible import constants
    except Exception as exc:  # an unreadable ansible.cfg raises AnsibleError here
        raise CliError('cannot read the Ansible configuration: %s' % exc)
    configured = [os.path.abspath(os.path.expanduser(p)) for p in (constants.COLLECTIONS_PATHS or [])]
    paths = list(configured)
    if getattr(constants, 'COLLECTIONS_SCAN_SYS_PATH', True):
        paths.extend(p for p in sys.path if p and os.path.isdir(p))
    return paths, configured, constants.CONFIG_FILE


def _configured_inventory():
    """The inventory the configuration in force sets (its ansible.cfg's ``inventory =``, relative to
    that file, or ANSIBLE_INVENTORY), as Ansible resolves it; [] when only Ansible's default."""
    from ansible import constants
    try:
        value, origin = constants.config.get_config_value_and_origin('DEFAULT_HOST_LIST')
    except Exception as exc:
        raise CliError('cannot read the inventory setting of the Ansible configuration: %s' % exc)
    return [] if origin == 'default' else list(value or [])


def _checkout_root():
    """The repository this package lives in when installed in editable mode, else None."""
    here = os.path.dirname(os.path.realpath(__file__))  # <root>/cli/src/factiii_cli
    root = os.path.dirname(os.path.dirname(os.path.dirname(here)))
    return root if _is_collection(root) else None


def _link(root):
    base = tempfile.mkdtemp(prefix='factiii-cli.')
    atexit.register(shutil.rmtree, base, True)
    os.makedirs(os.path.join(base, *PARTS[:2]))
    os.symlink(root, os.path.join(base, *PARTS))
    return base


def bundled_tarball():
    """The collection tarball the wheel carries (factiii_cli/_bundle/factiii-infra-<version>.tar.gz,
    written by scripts/build-dist), or None: an editable install from a checkout carries none."""
    bundle = os.path.join(os.path.dirname(os.path.abspath(__file__)), '_bundle')
    found = sorted(n for n in os.listdir(bundle) if re.match(r'^factiii-infra-.+\.tar\.gz$', n)) if os.path.isdir(bundle) else []
    if len(found) > 1:
        raise CliError('%s holds %d collection tarballs (%s): reinstall the factiii_cli wheel' % (
            bundle, len(found), ', '.join(found)))
    return os.path.join(bundle, found[0]) if found else None


def find():
    """The factiii.infra this CLI uses; a CliError saying how to install it when there is none."""
    paths, configured, config_file = _search_paths()
    inventory = _configured_inventory()
    for base in paths:
        if _is_collection(os.path.join(base, *PARTS)):
            return Collection(os.path.abspath(base), 'installed in %s' % base, configured, config_file, inventory)
    root = _checkout_root()
    if root:
        return Collection(_link(root), 'checkout %s' % root, configured, config_file, inventory)
    raise CliError('the factiii.infra collection is not installed (searched %s): install it with '
                   '`ansible-galaxy collection install factiii.infra`, or run scripts/setup in its repository'
                   % ', '.join(paths[:4] + (['...'] if len(paths) > 4 else [])))
