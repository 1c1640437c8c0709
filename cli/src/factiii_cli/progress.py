"""Progress lines on stderr (the RESULTS BY STAGE table alone goes to stdout)."""
import sys
import time


def duration(seconds):
    """'42s', '3m05s', '1h02m'."""
    seconds = int(max(seconds, 0))
    if seconds < 60:
        return '%ds' % seconds
    if seconds < 3600:
        return '%dm%02ds' % (seconds // 60, seconds % 60)
    return '%dh%02dm' % (seconds // 3600, seconds % 3600 // 60)


class Progress:
    """Writes one line per event; a status that repeats itself is written once.

    On a terminal the current status line is redrawn in place with the time it has
    lasted; elsewhere (CI, a pipe) only changes are written, one line each.
    """

    def __init__(self, stream=None, clean=None):
        self.stream = stream if stream is not None else sys.stderr
        # Lines quote GitHub (run, job and step names, conclusions, error messages) and
        # hosts (fix messages): ``clean`` (the report library's printable) shows their
        # control characters instead of letting the terminal obey them.
        self.clean = clean or (lambda text: text)
        self.tty = bool(getattr(self.stream, 'isatty', lambda: False)())
        self._status = None
        self._since = 0.0
        self._open = False

    def line(self, text):
        self._close()
        self.stream.write(self.clean(text) + '\n')
        self.stream.flush()

    def status(self, text):
        """Show a status that may last (a queued or running workflow run)."""
        now = time.monotonic()
        text = self.clean(text)
        if text != self._status:
            self._close()
            self._status, self._since = text, now
            if not self.tty:
                self.stream.write(text + '\n')
                self.stream.flush()
                return
        if self.tty:
            self.stream.write('\r\033[K%s (%s)' % (text, duration(now - self._since)))
            self.stream.flush()
            self._open = True

    def _close(self):
        if self._open:
            self.stream.write('\n')
            self._open = False
        self._status = None
