"""`python -m bot` as an operator runs it, as a subprocess against the fake Bot API."""

from __future__ import annotations

import signal

from tests.fake_telegram import FakeTelegram, User, bot_env, private_chat, start_bot_process


def test_runs_answers_and_stops_on_sigterm_without_logging_the_token(tmp_path):
    with FakeTelegram() as fake:
        env = bot_env(fake, tmp_path, STYLEBOT_PRESETS_DIR=str(tmp_path))
        process = start_bot_process(env, tmp_path)
        try:
            fake.wait_for_blocking("setMyCommands", timeout=60)
            alice = User(7, "Alice")
            message = fake.user_sends_text(private_chat(alice), alice, "/help")
            answer = fake.wait_for_blocking(
                "sendMessage", lambda c: c.reply_to == message["message_id"], timeout=30
            )
            assert "/styles" in answer.text
            process.send_signal(signal.SIGTERM)
            _, stderr = process.communicate(timeout=60)
        finally:
            if process.poll() is None:
                process.kill()
                process.communicate()
    assert process.returncode == 0, stderr
    assert "started" in stderr
    assert fake.token not in stderr
    assert fake.token.split(":")[1] not in stderr


def test_a_refused_token_exits_2(tmp_path):
    with FakeTelegram() as fake:
        env = {**bot_env(fake, tmp_path), "TELEGRAM_BOT_TOKEN": "1:not-the-token"}
        process = start_bot_process(env, tmp_path)
        _, stderr = process.communicate(timeout=60)
    assert process.returncode == 2
    assert stderr.strip().splitlines()[-1].startswith("stylebot: Telegram refused")
