"""The one exception the CLI turns into a one-line error."""


class CliError(Exception):
    """Something the user must fix or know; printed as one line, exit status 2."""

    def __init__(self, message):
        # One line, always: messages may quote multi-line text from GitHub or Ansible.
        super().__init__(' '.join(str(message).split()))
