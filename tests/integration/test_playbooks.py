"""ansible-playbook against the playbooks and inventories, without changing the machine.

Which plays a limit selects, and the errors a user gets for a wrong stage, a
broken inventory or a missing required role variable: a non-zero exit and one
line that says what is wrong, never a Python traceback.
"""
import re

import pytest

PLAYS = ['Dev stage', 'Secrets stage', 'Staging stage', 'Prod stage']
REPORT = 'Report'  # the last play: RESULTS BY STAGE without the callback, the exit code with it


def hosts_per_play(proc):
    """{play name: [hosts]} from ansible-playbook --list-hosts."""
    assert proc.returncode == 0, proc.report
    plays = {}
    current = None
    for line in proc.stdout.splitlines():
        play = re.match(r'\s*play #\d+ \(.*?\): (.*?)\s+TAGS:', line)
        if play:
            current = plays.setdefault(play.group(1), [])
        elif current is not None and line.startswith(' ' * 6) and line.strip():
            current.append(line.strip())
    return plays


def assert_clean_error(proc, message):
    text = proc.stdout + proc.stderr
    assert proc.returncode != 0, proc.report
    assert 'Traceback' not in text, proc.report
    assert any(message in line for line in text.splitlines()), proc.report


@pytest.mark.parametrize('playbook_file', ['playbooks/fix.yml', 'playbooks/scan.yml'])
def test_plays_in_stage_order(playbook, playbook_file):
    plays = hosts_per_play(playbook(playbook_file, '--list-hosts'))
    assert list(plays) == PLAYS + [REPORT]
    # the zero-config inventory: this machine is dev, the controller does secrets
    assert sorted(plays.pop(REPORT)) == ['controller', 'localhost']
    assert plays == {'Dev stage': ['localhost'], 'Secrets stage': ['controller'],
                     'Staging stage': [], 'Prod stage': []}


@pytest.mark.parametrize('stage, play', [('dev', 'Dev stage'), ('secrets', 'Secrets stage'),
                                         ('staging', 'Staging stage'), ('prod', 'Prod stage')])
def test_limit_selects_one_stage(playbook, stage, play):
    plays = hosts_per_play(playbook('-i', 'inventories/example/hosts.yml', 'playbooks/fix.yml',
                                    '-l', stage, '--list-hosts'))
    assert [name for name, hosts in plays.items() if hosts] == [play, REPORT]
    assert plays[REPORT] == plays[play]


@pytest.mark.parametrize('stage, play, host', [('staging', 'Staging stage', 'staging-local'),
                                               ('prod', 'Prod stage', 'prod-local')])
def test_on_server_limit_selects_one_stage(playbook, stage, play, host):
    plays = hosts_per_play(playbook('-i', 'inventories/on-server', 'playbooks/fix.yml',
                                    '-l', stage, '--list-hosts'))
    assert {name: hosts for name, hosts in plays.items() if hosts} == {play: [host], REPORT: [host]}


def test_unknown_stage(playbook):
    proc = playbook('playbooks/fix.yml', '-l', 'nosuchstage')
    assert_clean_error(proc, 'leaves us with no hosts to target')


def test_broken_inventory(playbook, tmp_path):
    broken = tmp_path / 'hosts.yml'
    broken.write_text('all:\n  children: [dev\n')
    proc = playbook('-i', str(broken), 'playbooks/fix.yml')
    assert_clean_error(proc, 'Completely failed to parse inventory source %s' % broken)


@pytest.mark.parametrize('stage', ['staging', 'prod'])
def test_missing_required_role_var(playbook, tmp_path, stage):
    inventory = tmp_path / 'hosts.yml'
    inventory.write_text(
        '%s:\n  hosts:\n    localhost:\n      ansible_connection: local\n'
        '      ansible_python_interpreter: "{{ ansible_playbook_python }}"\n' % stage)
    # scan: nothing would change even if the check were missed
    proc = playbook('-i', str(inventory), 'playbooks/scan.yml', '-l', stage)
    assert_clean_error(proc, 'missing required variables {0}_repo_dest, {0}_repo_url'.format(stage))
    assert 'Scan and fix stage' not in proc.stdout, 'the stage ran without its required variables'
