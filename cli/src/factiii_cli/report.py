"""One RESULTS BY STAGE report from the local run and the workflow runs' results files.

Everything goes through the collection's report library (plugins/plugin_utils/results.py:
new_report, add_report, add_results, format_report, write_json), exactly as
bin/factiii-summary merges several results files: the text and the JSON are the
results_by_stage callback's own, and a results file is checked (load_results)
before any of it is used.
"""
import io
import zipfile

# A results artifact is a few kilobytes; refuse to unpack anything absurd.
MAX_ARCHIVE_BYTES = 64 * 1024 * 1024
MAX_MEMBER_BYTES = 16 * 1024 * 1024


class Report:
    """The merged report, built with the collection's report library ``results``."""

    def __init__(self, results):
        self.results = results
        self.data = results.new_report()

    def add(self, report, stages=None):
        """Add a results report (the results file's JSON shape); only ``stages`` when given.
        ValueError (what is wrong) when ``report`` is not one."""
        self.results.add_report(self.data, report, stages)

    def add_failed(self, stage, host, fix_id, msg, check_mode=False):
        """A failed row that is not a fix's own (a run that failed or reported nothing)."""
        fix = {'fix_id': fix_id, 'status': self.results.FAILED, 'msg': msg, 'steps': []}
        self.results.add_results(self.data, stage, host, [fix], check_mode=check_mode)

    def stages(self):
        return list(self.data['stages'])

    def failed(self):
        return self.data['total'][self.results.FAILED]

    def text(self):
        return self.results.format_report(self.data)

    def write_json(self, path):
        """None, or why ``path`` could not be written."""
        return self.results.write_json(self.data, path)


def reports_in_zip(blob):
    """([(member name, its bytes)], [problems]): the JSON members of a results artifact's zip archive.

    The artifact holds only results files, so every .json member is one; the
    caller checks each with the report library's load_results().
    """
    if len(blob) > MAX_ARCHIVE_BYTES:
        raise ValueError('archive of %d bytes is too large for a results artifact' % len(blob))
    found, problems = [], []
    with zipfile.ZipFile(io.BytesIO(blob)) as archive:
        for info in sorted(archive.infolist(), key=lambda i: i.filename):
            if info.is_dir() or not info.filename.endswith('.json'):
                continue
            if info.file_size > MAX_MEMBER_BYTES:
                problems.append('%s is larger than %d MiB' % (info.filename, MAX_MEMBER_BYTES // 2 ** 20))
                continue
            found.append((info.filename, archive.read(info)))
    return found, problems
