"""A fake AnsibleModule for unit tests: canned run_command answers, exact argv asserted."""


class FakeModule:
    """``commands`` is a list of (argv, rc, out, err), consumed in order.

    argv is compared exactly; a call that was not expected fails the test with
    the argv it got, so a test shows precisely what the code runs.
    """

    def __init__(self, commands=(), bins=None, check_mode=False):
        self.commands = [tuple(c) for c in commands]
        self.bins = dict(bins or {})
        self.check_mode = check_mode
        self.calls = []
        self.envs = []

    def get_bin_path(self, name, required=False, opt_dirs=None):
        return self.bins.get(name)

    def run_command(self, argv, environ_update=None, data=None, cwd=None, check_rc=False,
                    binary_data=False):
        self.calls.append(list(argv))
        self.envs.append(dict(environ_update or {}))
        assert self.commands, 'unexpected command: %r' % (argv,)
        expected = self.commands.pop(0)
        want, rc = list(expected[0]), expected[1]
        out = expected[2] if len(expected) > 2 else ''
        err = expected[3] if len(expected) > 3 else ''
        assert list(argv) == want, 'ran %r, expected %r' % (argv, want)
        return rc, out, err

    def assert_done(self):
        assert not self.commands, 'commands never run: %r' % (self.commands,)


class RealModule:
    """Runs commands for real (subprocess): for fixes tested against real git in tmp dirs."""

    check_mode = False

    def __init__(self):
        self.calls = []

    def get_bin_path(self, name, required=False, opt_dirs=None):
        import shutil
        return shutil.which(name)

    def run_command(self, argv, environ_update=None, data=None, cwd=None, check_rc=False,
                    binary_data=False):
        import os
        import subprocess
        self.calls.append(list(argv))
        env = dict(os.environ)
        env.update(environ_update or {})
        proc = subprocess.run(argv, input=data, cwd=cwd, env=env, capture_output=True, text=True, check=False)
        return proc.returncode, proc.stdout, proc.stderr
