"""The Debian-based execution environment (EE) image of this tree, built with ansible-builder.

meta/execution-environment.yml (what users build, on a dnf-based base) with tests/ee/debian.yml merged
over it, built with docker from the local debootstrapped Debian image of tests/hosts/build-image (no
image registry here). The image is tagged ``factiii-ee-debian:<hash of its inputs>`` (the merged
definition, the collection's files, the CA certificates, the base image, ansible-builder's version)
and reused while they are the same, like bench's converged image.

    python tests/ee_image.py        # builds it when needed, prints its name
"""
import glob
import hashlib
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
from importlib.metadata import version

import yaml

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
REPOSITORY = 'factiii-ee-debian'
CA_DIR = '/usr/local/share/ca-certificates'
# docker's predefined build args: used by RUN, never stored in the image's history
PROXY_ARGS = ('HTTP_PROXY', 'HTTPS_PROXY', 'NO_PROXY', 'http_proxy', 'https_proxy', 'no_proxy')


class EEError(Exception):
    """A clear one-line reason the image cannot be built."""


def merge(base, over):
    """``over`` merged into ``base``: mappings key by key, a None value removes the key, the rest replaces."""
    out = dict(base)
    for key, value in over.items():
        if value is None:
            out.pop(key, None)
        elif isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = merge(out[key], value)
        else:
            out[key] = value
    return out


def definition():
    """The Debian variant's definition (a dict)."""
    with open(os.path.join(ROOT, 'meta', 'execution-environment.yml'), encoding='utf-8') as handle:
        base = yaml.safe_load(handle)
    with open(os.path.join(ROOT, 'tests', 'ee', 'debian.yml'), encoding='utf-8') as handle:
        return merge(base, yaml.safe_load(handle))


def _tool(name):
    beside = os.path.join(os.path.dirname(sys.executable), name)
    return beside if os.access(beside, os.X_OK) else (shutil.which(name) or name)


def _run(argv, what):
    proc = subprocess.run(argv, capture_output=True, text=True, check=False, stdin=subprocess.DEVNULL)
    if proc.returncode != 0:
        tail = '\n'.join((proc.stdout + proc.stderr).strip().splitlines()[-30:])
        raise EEError('%s failed (rc %d):\n%s' % (what, proc.returncode, tail))
    return proc.stdout


def _digest(stage, data, base_image):
    digest = hashlib.sha256()
    digest.update(yaml.safe_dump(data, sort_keys=True).encode())
    digest.update(base_image.encode())
    digest.update(version('ansible-builder').encode())
    for path in sorted(glob.glob(os.path.join(stage, 'meta', 'ca', '*'))):
        digest.update(os.path.basename(path).encode())
        with open(path, 'rb') as handle:
            digest.update(handle.read())
    # the tarball's members, not its bytes (its mtimes change with every build)
    tarball, = glob.glob(os.path.join(stage, 'build', 'factiii-infra-*.tar.gz'))
    with tarfile.open(tarball) as archive:
        for member in sorted(archive.getmembers(), key=lambda m: m.name):
            digest.update(member.name.encode())
            if member.isfile():
                digest.update(archive.extractfile(member).read())
    return digest.hexdigest()[:12]


def build(log=None):
    """The image's name, built first unless an image of the same inputs exists."""
    data = definition()
    base = data['images']['base_image']['name']
    found = subprocess.run(['docker', 'image', 'inspect', '-f', '{{.Id}}', base], capture_output=True, text=True,
                           check=False)
    if found.returncode != 0:
        raise EEError('no base image %s: tests/hosts/build-image makes it from Debian packages when it builds the '
                      'test host image (docker rmi that one first if it says it is up to date)' % base)
    stage = tempfile.mkdtemp(prefix='factiii-ee-')
    try:
        os.makedirs(os.path.join(stage, 'meta', 'ca'))
        for crt in glob.glob(os.path.join(CA_DIR, '*.crt')):
            shutil.copy(crt, os.path.join(stage, 'meta', 'ca'))
        _run([_tool('ansible-galaxy'), 'collection', 'build', '--force', '--output-path',
              os.path.join(stage, 'build'), ROOT], 'ansible-galaxy collection build')
        path = os.path.join(stage, 'meta', 'execution-environment.yml')
        with open(path, 'w', encoding='utf-8') as handle:
            yaml.safe_dump(data, handle, sort_keys=False)
        image = '%s:%s' % (REPOSITORY, _digest(stage, data, found.stdout.strip()))
        if subprocess.run(['docker', 'image', 'inspect', image], capture_output=True, check=False).returncode == 0:
            return image
        if log:
            log('building the execution environment %s' % image)
        argv = [_tool('ansible-builder'), 'build', '--container-runtime', 'docker', '-f', path,
                '-c', os.path.join(stage, 'context'), '-t', image]
        # pip reaches the package index the way this machine does: directly, trusting the CA
        # certificates above, or through the proxy named in the environment
        for name in PROXY_ARGS:
            if os.environ.get(name):
                argv += ['--build-arg', name]
        _run(argv, 'ansible-builder build')
        return image
    finally:
        shutil.rmtree(stage, ignore_errors=True)


if __name__ == '__main__':
    try:
        print(build(log=lambda msg: sys.stderr.write(msg + '\n')))
    except EEError as exc:
        sys.exit('ee_image: %s' % exc)
