"""Where the factiii.infra collection is, and its RESULTS BY STAGE library.

The CLI runs the collection's own playbooks and prints the report of its report
library (``plugins/plugin_utils/results.py``: new_report, add_results,
format_report, write_json), the one the results_by_stage callback uses, so it
needs the collection on this machine:

1. installed where Ansible looks for collections (ANSIBLE_COLLECTIONS_PATH, the
   collections_path of the ansible.cfg in force, Ansible's defaults, and the
   Python path), as ansible-playbook itself would find it; else
2. when this package was installed in editable mode from a checkout of the
   collection (``pip install -e ./cli``), the copy that checkout's scripts/setup
   installed in its ``.collections`` (where the checkout's own ansible.cfg looks
   first). Nothing is linked or copied at run time.

The wheel built by scripts/build-dist installs the collection it was built with
into site-packages (``ansible_collections/factiii/infra``): Ansible scans the
Python path after the collections paths, so that copy is used when no other
factiii.infra is installed, and a copy installed elsewhere (ANSIBLE_COLLECTIONS_PATH,
~/.ansible/collections) wins, as it does for ansible-playbook. ``factiii
--version`` says which one is used.
"""
import importlib
import json
import os
import re
import sys

from factiii_cli.errors import CliError

PARTS = ('ansible_collections', 'factiii', 'infra')
# the report library, and what the CLI uses of it (results files are checked and text is made printable there)
RESULTS = ('plugins', 'plugin_utils', 'results')
NEEDED = ('new_report', 'add_report', 'add_results', 'load_results', 'printable', 'format_report', 'write_json',
          'path_problem')


class Collection:
    """An installed factiii.infra: ``base`` is the collections path that holds it."""

    def __init__(self, base, source, searched=(), config_file=None, inventory=None):
        self.base = base
        self.source = source
        # what ansible-playbook would use from here: the other collections paths, the ansible.cfg,
        # the inventory it sets (or ANSIBLE_INVENTORY), as absolute paths
        self.searched = [p for p in searched if p != base]
        self.config_file = config_file
        self.inventory = list(inventory or [])
        self.root = os.path.join(base, *PARTS)
        self._results = None

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
    def results(self):
        """The report library of this collection (plugins/plugin_utils/results.py)."""
        if self._results is None:
            older = 'factiii.infra in %s is older than this CLI (%%s): install the collection of the same ' \
                    'version as the CLI' % self.root
            if not os.path.isfile(self.path(*RESULTS) + '.py'):
                raise CliError(older % ('it has no %s.py' % '/'.join(RESULTS)))
            self._results = self._import(*RESULTS)
            missing = [name for name in NEEDED if not hasattr(self._results, name)]
            if missing:
                raise CliError(older % ('its %s.py has no %s' % ('/'.join(RESULTS), ', '.join(missing))))
        return self._results

    @property
    def github_api(self):
        """What the CLI and the secrets stage share about GitHub's API (plugin_utils/github_api.py)."""
        return self._import('plugins', 'plugin_utils', 'github_api')


def _is_collection(root):
    """A collection (installed: MANIFEST.json; a checkout: galaxy.yml) with plugins, of any version."""
    return os.path.isdir(os.path.join(root, 'plugins')) and (
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


def _setup_collections(root):
    """Where a checkout's scripts/setup installs the collection built from it."""
    return os.path.join(root, '.collections')


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
    if root and _is_collection(os.path.join(_setup_collections(root), *PARTS)):
        base = _setup_collections(root)
        return Collection(base, 'installed in %s by scripts/setup' % base, configured, config_file, inventory)
    raise CliError('the factiii.infra collection is not installed (searched %s): install it with '
                   '`ansible-galaxy collection install factiii.infra`, or run scripts/setup in %s'
                   % (', '.join(paths[:4] + (['...'] if len(paths) > 4 else [])), root or 'its repository'))
