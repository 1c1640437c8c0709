"""The collection packaged as Galaxy and Automation Hub expect (issue 18 point 5): one license
everywhere, galaxy.yml's links, the action group, the changelog generated from changelogs/.

The built tarball's file list and the modules' attributes as ansible-doc renders them are checked
in tests/integration/test_packaging.py."""
import ast
import glob
import hashlib
import os
import re
import shutil

import yaml

from support import ROOT, run_reported, tool

# sha256 of the GNU GPL version 3 as the FSF publishes it (gpl-3.0.txt; Debian's
# /usr/share/common-licenses/GPL-3 is the same file).
GPL3_SHA256 = '3972dc9744f6499f0f9b2dbf76696f2ae7ad8af9b23dde66d6af86c9dfb36986'
# The header line naming the license, for each SPDX id galaxy.yml may name.
HEADER = {'GPL-3.0-or-later': '# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)'}
HOME = 'https://github.com/factiii/factiii.infra'


def galaxy():
    with open(os.path.join(ROOT, 'galaxy.yml')) as handle:
        return yaml.safe_load(handle)


def module_doc(path):
    """The DOCUMENTATION of a module file, parsed (without running the module)."""
    with open(path) as handle:
        tree = ast.parse(handle.read())
    for node in tree.body:
        if isinstance(node, ast.Assign) and [t.id for t in node.targets] == ['DOCUMENTATION']:
            return yaml.safe_load(node.value.value)
    raise AssertionError('%s has no DOCUMENTATION' % path)


MODULES = sorted(glob.glob(os.path.join(ROOT, 'plugins', 'modules', '*.py')))


def shipped_python():
    """Every Python file the collection ships: plugins/, and bin/ scripts run by python."""
    found = glob.glob(os.path.join(ROOT, 'plugins', '**', '*.py'), recursive=True)
    for path in glob.glob(os.path.join(ROOT, 'bin', '*')):
        with open(path, encoding='utf-8') as handle:
            if 'python' in handle.readline():
                found.append(path)
    return sorted(p for p in found if os.path.getsize(p))


def test_license_file_is_the_gpl3_that_galaxy_and_the_cli_name():
    with open(os.path.join(ROOT, 'LICENSE'), 'rb') as handle:
        assert hashlib.sha256(handle.read()).hexdigest() == GPL3_SHA256, 'LICENSE is not the FSF text of the GPL v3'
    assert galaxy()['license'] == ['GPL-3.0-or-later']
    with open(os.path.join(ROOT, 'cli', 'pyproject.toml')) as handle:
        assert re.search(r'^license = "GPL-3.0-or-later"$', handle.read(), re.M)


def test_every_shipped_python_file_names_the_license_of_galaxy_yml():
    header = HEADER[galaxy()['license'][0]]
    files = shipped_python()
    assert len(files) > 50
    missing = []
    for path in files:
        with open(path, encoding='utf-8') as handle:
            if header not in [line.rstrip('\n') for line in handle.readlines()[:5]]:
                missing.append(os.path.relpath(path, ROOT))
    assert not missing, 'no license header (%s) in the first 5 lines of: %s' % (header, ', '.join(missing))


def test_galaxy_yml_links_to_the_project():
    data = galaxy()
    assert {key: data.get(key) for key in ('repository', 'documentation', 'homepage', 'issues')} == {
        'repository': HOME, 'documentation': HOME + '/blob/main/README.md', 'homepage': HOME,
        'issues': HOME + '/issues'}


def test_the_action_group_is_every_module_that_takes_the_common_options():
    """module_defaults of group/factiii.infra.infra reach every member, so each member must take the
    common options (else "Unsupported parameters"), and documents its membership."""
    with open(os.path.join(ROOT, 'meta', 'runtime.yml')) as handle:
        groups = yaml.safe_load(handle)['action_groups']
    assert list(groups) == ['infra']
    common = []
    for path in MODULES:
        fragments = module_doc(path).get('extends_documentation_fragment', [])
        name = os.path.basename(path)[:-3]
        if 'factiii.infra.common' in fragments:
            common.append(name)
        assert ('factiii.infra.attributes.actiongroup_infra' in fragments) == ('factiii.infra.common' in fragments), name
    assert len(common) >= 15
    assert groups['infra'] == common


def test_every_module_documents_its_attributes():
    """check_mode, diff_mode and platform (the support values validate-modules accepts), from
    the attributes fragments or the module's own DOCUMENTATION."""
    for path in MODULES:
        doc = module_doc(path)
        fragments = doc.get('extends_documentation_fragment', [])
        assert 'factiii.infra.attributes' in fragments, path
        assert len({'factiii.infra.attributes.host', 'factiii.infra.attributes.controller'} & set(fragments)) == 1, path
        supports = dict((key, value.get('support')) for key, value in doc.get('attributes', {}).items())
        if 'factiii.infra.attributes.scan' in fragments:
            assert 'check_mode' not in supports, path
        else:
            assert supports.get('check_mode') in ('full', 'partial', 'none'), path


def _changelog_tree(tmp_path):
    tree = tmp_path / 'tree'
    tree.mkdir()
    shutil.copy(os.path.join(ROOT, 'galaxy.yml'), str(tree))
    shutil.copytree(os.path.join(ROOT, 'changelogs'), str(tree / 'changelogs'))
    return tree


def test_changelog_fragments_and_changelog_yaml_lint_clean(tmp_path):
    tree = _changelog_tree(tmp_path)
    proc = run_reported([tool('antsibull-changelog'), 'lint'], dict(os.environ), 120, cwd=tree)
    assert proc.returncode == 0 and not proc.stdout.strip(), proc.report
    proc = run_reported([tool('antsibull-changelog'), 'lint-changelog-yaml', '--strict',
                         str(tree / 'changelogs' / 'changelog.yaml')], dict(os.environ), 120, cwd=tree)
    assert proc.returncode == 0 and not proc.stdout.strip(), proc.report


def test_changelog_md_is_generated_from_changelogs(tmp_path):
    """CHANGELOG.md is antsibull-changelog's output, never edited by hand (CONTRIBUTING.md)."""
    tree = _changelog_tree(tmp_path)
    proc = run_reported([tool('antsibull-changelog'), 'generate'], dict(os.environ), 120, cwd=tree)
    assert proc.returncode == 0, proc.report
    with open(os.path.join(ROOT, 'CHANGELOG.md'), encoding='utf-8') as handle:
        committed = handle.read()
    assert (tree / 'CHANGELOG.md').read_text(encoding='utf-8') == committed, (
        'CHANGELOG.md is not what `antsibull-changelog generate` writes from changelogs/: run it, and put '
        'changes in changelogs/fragments/')
