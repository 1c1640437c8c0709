"""Issue 18 point 1: meta/execution-environment.yml, the EE users build on a dnf-based base.

No image registry is reachable here, so the user's definition is not built: ansible-builder
validates it and writes its build context (`create`), with the collection's built tarball where
the definition expects it; its versions are the ones tested (requirements.txt). The Debian variant
that is built and run is tests/ee_image.py's (tests/molecule/test_ee.py).
"""
import glob
import os
import re
import shutil
import subprocess

import yaml

from support import ROOT, run_reported, tool

import ee_image


def pins():
    found = {}
    with open(os.path.join(ROOT, 'requirements.txt'), encoding='utf-8') as handle:
        for line in handle:
            match = re.match(r'^([A-Za-z0-9_.-]+)==(\S+)', line)
            if match:
                found[match.group(1).lower()] = match.group(0)
    return found


def test_the_ee_pins_the_tested_ansible_core_and_runner():
    with open(os.path.join(ROOT, 'meta', 'execution-environment.yml'), encoding='utf-8') as handle:
        deps = yaml.safe_load(handle)['dependencies']
    assert deps['ansible_core']['package_pip'] == pins()['ansible-core']
    assert deps['ansible_runner']['package_pip'] == pins()['ansible-runner']
    # the Debian variant changes the base, not what is installed
    assert ee_image.definition()['dependencies']['ansible_core'] == deps['ansible_core']
    assert ee_image.definition()['dependencies']['galaxy'] == deps['galaxy']


def test_ansible_builder_writes_the_build_context_with_the_collection(tmp_path, built_collection):
    shutil.copytree(os.path.join(ROOT, 'meta'), str(tmp_path / 'meta'))
    (tmp_path / 'build').mkdir()
    shutil.copy(built_collection[0], str(tmp_path / 'build'))
    proc = run_reported([tool('ansible-builder'), 'create', '-f', tmp_path / 'meta' / 'execution-environment.yml',
                         '-c', tmp_path / 'context', '--output-filename', 'Containerfile'], dict(os.environ), 120)
    assert proc.returncode == 0 and 'No matches' not in proc.stdout + proc.stderr, proc.report
    containerfile = (tmp_path / 'context' / 'Containerfile').read_text()
    assert 'ARG ANSIBLE_INSTALL_REFS="%s %s"' % (pins()['ansible-core'], pins()['ansible-runner']) in containerfile
    assert 'ARG PYCMD="/usr/bin/python3.11"' in containerfile
    copied = glob.glob(str(tmp_path / 'context' / '_build' / 'factiii-collection' / 'factiii-infra-*.tar.gz'))
    assert [os.path.basename(p) for p in copied] == [os.path.basename(built_collection[0])]
    requirements = yaml.safe_load((tmp_path / 'context' / '_build' / 'requirements.yml').read_text())
    assert requirements == {'collections': [{'name': '/tmp/factiii-collection/factiii-infra.tar.gz', 'type': 'file'}]}
    # the galaxy stage renames the copied tarball to the file the requirement names
    assert re.search(r'^COPY _build/factiii-collection/ /tmp/factiii-collection/\n'
                     r'RUN mv /tmp/factiii-collection/factiii-infra-\*\.tar\.gz '
                     r'/tmp/factiii-collection/factiii-infra\.tar\.gz$', containerfile, re.M), containerfile
    assert subprocess.run(['tar', '-tzf', copied[0], 'MANIFEST.json'], capture_output=True,
                          check=False).returncode == 0
