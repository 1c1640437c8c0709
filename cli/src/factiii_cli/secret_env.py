"""Run a command with secrets in its environment that came through its terminal.

    python -P -m factiii_cli.secret_env NONCE NAME [NAME ...] -- COMMAND [ARG ...]

ansible-runner writes the command line and the whole environment of what it runs
to artifacts/<ident>/command in its private data dir, and a CLI killed with
SIGKILL leaves that directory behind. So the local run starts this instead of
ansible-playbook with no secret in its environment: for each NAME it asks on its
terminal (ansible-runner's pseudo-terminal, which answers from memory through
ansible_runner.run(passwords=...), echo off), puts the answer in the environment
and becomes COMMAND. NONCE makes the prompt one nothing else prints.
"""
import errno
import os
import select
import sys
import termios

PROMPT = 'factiii-secret-%s-%s: '
# ansible-runner answers within its pexpect timeout (5 s); a run that never
# answers ends here instead of waiting forever
ANSWER_TIMEOUT = 60


def prompt(nonce, name):
    return PROMPT % (nonce, name)


def _read_line(fd, timeout):
    """One line from ``fd`` (without its end), or None when none came within ``timeout`` seconds."""
    data = b''
    while not data.endswith(b'\n'):
        ready, dummy, dummy = select.select([fd], [], [], timeout)
        if not ready:
            return None
        chunk = os.read(fd, 1)
        if not chunk:
            break
        data += chunk
    return data.decode('utf-8').rstrip('\r\n')


def _no_echo(fd):
    """Turn the terminal's echo off (ansible-runner spawns with echo off already); the old settings."""
    if not os.isatty(fd):
        return None
    old = termios.tcgetattr(fd)
    new = list(old)
    new[3] &= ~termios.ECHO
    termios.tcsetattr(fd, termios.TCSANOW, new)
    return old


def main(argv):
    if '--' not in argv or argv.index('--') < 1 or argv.index('--') == len(argv) - 1:
        sys.stderr.write('usage: python -m factiii_cli.secret_env NONCE NAME ... -- COMMAND ...\n')
        return 2
    split = argv.index('--')
    nonce, names, command = argv[0], argv[1:split], argv[split + 1:]
    env = dict(os.environ)
    old = _no_echo(0)
    try:
        for name in names:
            sys.stdout.write(prompt(nonce, name))
            sys.stdout.flush()
            value = _read_line(0, ANSWER_TIMEOUT)
            if value is None:
                sys.stderr.write('factiii: %s was not passed within %ds\n' % (name, ANSWER_TIMEOUT))
                return 2
            sys.stdout.write('\n')
            env[name] = value
    finally:
        if old is not None:
            termios.tcsetattr(0, termios.TCSANOW, old)
    sys.stdout.flush()
    try:
        os.execvpe(command[0], command, env)
    except OSError as exc:
        sys.stderr.write('factiii: cannot run %s: %s\n' % (command[0], _why(command[0], exc)))
        return 127


def _why(path, exc):
    """Why ``path`` could not be executed: for a script that is there, the interpreter of its #! line."""
    if exc.errno == errno.ENOENT and os.path.isfile(path):
        try:
            with open(path, 'rb') as handle:
                first = handle.readline(256).decode('utf-8', 'replace').strip()
        except OSError:
            first = ''
        if first.startswith('#!'):
            return 'its interpreter %s (its #! line) was not found; reinstall ansible-core there' % first[2:].strip()
    return exc.strerror or '%s' % exc


if __name__ == '__main__':
    sys.exit(main(sys.argv[1:]))
