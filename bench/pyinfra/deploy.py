"""Variant (g): the staging stage's seven checks as pyinfra operations.

Run by bench/run with ``pyinfra --dry`` (change detection: facts are gathered,
nothing is executed) for a scan, and without ``--dry`` for a fix.
"""
from pyinfra.operations import apt, git, npm, systemd

apt.packages(name='Git is installed', packages=['git'])
apt.packages(name='Node.js and npm are installed', packages=['nodejs', 'npm'])
apt.packages(name='Docker is installed', packages=['docker.io'])
# No branch: on a clone at tag v1 (a detached HEAD) pyinfra would "change" the
# branch on every run; factiii also checks the remote only, not the revision.
git.repo(name='The app is cloned', src='file:///srv/git/app.git', dest='/srv/app', pull=False)
npm.packages(name="pnpm is installed at the app's version", packages=['pnpm@9.15.0'])
systemd.service(name='Docker runs and starts at boot', service='docker', running=True, enabled=True)
