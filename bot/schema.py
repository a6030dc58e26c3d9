"""The bot's database schema, as the migrations that build it, oldest first.

`bot.store.Store` applies the ones a database lacks when it opens it; `PRAGMA user_version`
says how many a database has. The tables: `sessions` (`bot.store`), `jobs` and `turns`
(`bot.jobs.queue`), `inbox` (`bot.telegram.inbox`), `user_languages` and `chat_languages`
(`bot.store`), `battles`, `battle_jobs` and `battle_votes` (`bot.jobs.battle_records`),
`sticker_packs` (`bot.telegram.sticker_packs`), `shared_paintings`
(`bot.telegram.shared_paintings`), and `job_days` (`bot.jobs.retention`: the daily counts of the
jobs it deleted).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Iterator


def _queue_users_rows(only: str = "") -> str:
    """The statement that writes `queue_users`' rows from the waiting jobs (`only`: a
    condition narrowing them to one user)."""
    return f"""INSERT INTO queue_users (user_id, turn, first, waiting, clips, clip_frames)
        SELECT user_id,
            COALESCE((SELECT served_at FROM turns WHERE turns.user_id = jobs.user_id), 0),
            MIN(id), COUNT(*), TOTAL(media != 'photo'),
            TOTAL(CASE WHEN media != 'photo' THEN MAX(frames, 1) END)
        FROM jobs WHERE status = 'queued' AND attempts = 0{only}
        GROUP BY user_id;"""


def _rebuild_queue_user(row: str) -> str:
    """A trigger's body: the changed job's user's row of `queue_users` written again
    (`row`: NEW or OLD). SQLite's triggers cannot call a shared body, so each gets this text."""
    return (f"DELETE FROM queue_users WHERE user_id = {row}.user_id;\n        "
            + _queue_users_rows(f" AND user_id = {row}.user_id"))


_QUEUE_USERS_SQL = {"rebuild_new": _rebuild_queue_user("NEW"),
                    "rebuild_old": _rebuild_queue_user("OLD"),
                    "fill_all": _queue_users_rows()}

MIGRATIONS: list[str] = [
    # 1: sessions, the job queue, and the round-robin bookkeeping of the queue.
    """
    CREATE TABLE sessions (
        chat_id            INTEGER NOT NULL,
        user_id            INTEGER NOT NULL,
        pending            TEXT,
        content_file_id    TEXT,
        content_message_id INTEGER,
        file_ids_at        REAL,
        default_preset     TEXT,
        settings           TEXT NOT NULL DEFAULT '{}',
        updated_at         REAL NOT NULL,
        PRIMARY KEY (chat_id, user_id)
    );
    CREATE INDEX sessions_by_user ON sessions (user_id);

    CREATE TABLE jobs (
        id                   INTEGER PRIMARY KEY AUTOINCREMENT,
        chat_id              INTEGER NOT NULL,
        user_id              INTEGER NOT NULL,
        chat_type            TEXT NOT NULL,
        reply_to_message_id  INTEGER,
        content_file_id      TEXT NOT NULL,
        style_file_id        TEXT,
        preset               TEXT,
        settings             TEXT NOT NULL DEFAULT '{}',
        status               TEXT NOT NULL
            CHECK (status IN ('queued', 'running', 'done', 'failed', 'cancelled')),
        attempts             INTEGER NOT NULL DEFAULT 0,
        created_at           REAL NOT NULL,
        started_at           REAL,
        computed_at          REAL,
        finished_at          REAL,
        error                TEXT,
        status_message_id    INTEGER,
        result_path          TEXT,
        delivered_message_id INTEGER,
        note                 TEXT
    );
    CREATE INDEX jobs_by_status ON jobs (status, user_id, id);
    CREATE INDEX jobs_by_user ON jobs (user_id, chat_id);
    CREATE INDEX jobs_by_computed ON jobs (computed_at);

    -- When each user was last given the worker: the queue serves the least recent first.
    CREATE TABLE turns (
        user_id   INTEGER PRIMARY KEY,
        served_at INTEGER NOT NULL
    );
    """,
    # 2: pictures being received (downloaded, checked) whose sender has not been answered yet.
    """
    CREATE TABLE inbox (
        id          INTEGER PRIMARY KEY AUTOINCREMENT,
        chat_id     INTEGER NOT NULL,
        user_id     INTEGER NOT NULL,
        message_id  INTEGER NOT NULL,
        received_at REAL NOT NULL
    );
    CREATE INDEX inbox_by_user ON inbox (user_id);
    """,
    # 3: languages: a user's choice (/language), a group's (set by its admins), and the
    # language each job and each picture being received is answered in.
    """
    CREATE TABLE user_languages (
        user_id    INTEGER PRIMARY KEY,
        language   TEXT NOT NULL,
        updated_at REAL NOT NULL
    );
    CREATE TABLE chat_languages (
        chat_id    INTEGER PRIMARY KEY,
        language   TEXT NOT NULL,
        updated_at REAL NOT NULL
    );
    ALTER TABLE jobs ADD COLUMN language TEXT NOT NULL DEFAULT 'en';
    ALTER TABLE inbox ADD COLUMN language TEXT NOT NULL DEFAULT 'en';
    """,
    # 4: style battles (/battle): the battle (and the language its album, vote and result
    # are in: its caller's, which is the group's where the group chose one), its jobs (one
    # per style) and the votes.
    """
    CREATE TABLE battles (
        id                  INTEGER PRIMARY KEY AUTOINCREMENT,
        chat_id             INTEGER NOT NULL,
        caller_id           INTEGER NOT NULL,
        reply_to_message_id INTEGER,
        status_message_id   INTEGER,
        album_message_id    INTEGER,
        vote_message_id     INTEGER,
        deadline            REAL,
        state               TEXT NOT NULL
            CHECK (state IN ('painting', 'posted', 'voting', 'over')),
        language            TEXT NOT NULL DEFAULT 'en',
        created_at          REAL NOT NULL
    );
    CREATE INDEX battles_by_state ON battles (state);

    CREATE TABLE battle_jobs (
        job_id    INTEGER PRIMARY KEY,
        battle_id INTEGER NOT NULL REFERENCES battles (id) ON DELETE CASCADE,
        position  INTEGER NOT NULL,
        style     TEXT NOT NULL
    );
    CREATE INDEX battle_jobs_by_battle ON battle_jobs (battle_id);

    CREATE TABLE battle_votes (
        battle_id INTEGER NOT NULL REFERENCES battles (id) ON DELETE CASCADE,
        user_id   INTEGER NOT NULL,
        style     TEXT NOT NULL,
        PRIMARY KEY (battle_id, user_id)
    );
    """,
    # 5: moving pictures (GIFs, videos, video notes: what a job paints and how many frames
    # at most) and sticker packs (a user's own, or a group's, owned by the admin who made it).
    """
    ALTER TABLE jobs ADD COLUMN media TEXT NOT NULL DEFAULT 'photo';
    ALTER TABLE jobs ADD COLUMN frames INTEGER NOT NULL DEFAULT 1;
    ALTER TABLE sessions ADD COLUMN content_media TEXT NOT NULL DEFAULT 'photo';
    ALTER TABLE sessions ADD COLUMN content_frames INTEGER NOT NULL DEFAULT 1;

    CREATE TABLE sticker_packs (
        name       TEXT PRIMARY KEY,
        chat_id    INTEGER,
        owner_id   INTEGER NOT NULL,
        title      TEXT NOT NULL,
        created_at REAL NOT NULL
    );
    CREATE UNIQUE INDEX sticker_packs_by_chat ON sticker_packs (chat_id);
    CREATE INDEX sticker_packs_by_owner ON sticker_packs (owner_id);
    """,
    # 6: what the user sent, as they would name it (a GIF, a round video, a sticker...: the
    # words for it), with the waiting content and with each job; and where a clip longer than
    # the limit was cut (NULL: painted whole). Clips of older rows are called videos (a GIF
    # is a silent video to Telegram too).
    """
    ALTER TABLE sessions ADD COLUMN content_kind TEXT NOT NULL DEFAULT 'photo';
    ALTER TABLE jobs ADD COLUMN content_kind TEXT NOT NULL DEFAULT 'photo';
    ALTER TABLE jobs ADD COLUMN cut_at_s REAL;
    UPDATE sessions SET content_kind = CASE content_media WHEN 'round' THEN 'round'
        ELSE 'video' END WHERE content_media != 'photo';
    UPDATE jobs SET content_kind = CASE media WHEN 'round' THEN 'round' ELSE 'video' END
        WHERE media != 'photo';
    """,
    # 7: a job whose requester kept the instant picture instead of waiting (/stats counts them).
    """
    ALTER TABLE jobs ADD COLUMN kept_instant INTEGER NOT NULL DEFAULT 0;
    """,
    # 8: the paintings a user may share with inline mode: Telegram's file id of each painted
    # picture the bot sent them, with its style.
    """
    CREATE TABLE shared_paintings (
        job_id     INTEGER PRIMARY KEY,
        user_id    INTEGER NOT NULL,
        file_id    TEXT NOT NULL,
        style      TEXT NOT NULL,
        created_at REAL NOT NULL
    );
    CREATE INDEX shared_paintings_by_user ON shared_paintings (user_id, created_at);
    """,
    # 9: a year unattended. `job_days`: what /stats reports of the finished jobs the
    # retention deleted (`bot.jobs.retention`), one row per day they were asked for (the
    # server's local date) and status, with no user or chat in it. The indexes serve what
    # runs on every message and every job with a year of history (benchmarks/database.py):
    # the waiting jobs on their own (enqueue's counts, the fair order, a place in the
    # queue), the least recently served user, /stats' day, the recent durations of pictures
    # and of clips, the old jobs the retention takes, the jobs whose file ids may expire, and
    # a group's jobs.
    """
    CREATE TABLE job_days (
        day             TEXT NOT NULL,
        status          TEXT NOT NULL,
        jobs            INTEGER NOT NULL,
        clips           INTEGER NOT NULL,
        retried         INTEGER NOT NULL,
        computed        INTEGER NOT NULL,
        compute_seconds REAL NOT NULL,
        PRIMARY KEY (day, status)
    ) WITHOUT ROWID;

    CREATE INDEX jobs_waiting ON jobs (user_id, id, attempts, media, frames)
        WHERE status = 'queued';
    CREATE INDEX jobs_retried ON jobs (id) WHERE status = 'queued' AND attempts > 0;
    CREATE INDEX jobs_by_created ON jobs (created_at);
    CREATE INDEX jobs_with_file_ids ON jobs (created_at)
        WHERE content_file_id != '' OR style_file_id IS NOT NULL;
    CREATE INDEX jobs_by_status_finished ON jobs (status, finished_at);
    CREATE INDEX jobs_by_kind_computed ON jobs ((media = 'photo'), computed_at);
    CREATE INDEX jobs_by_chat ON jobs (chat_id);
    DROP INDEX jobs_by_computed;
    CREATE INDEX turns_by_served ON turns (served_at);

    -- The users with jobs waiting (not counting retried ones) in the fair order's terms
    -- (`bot.jobs.fair_sql`): when last served, their oldest waiting job, how many wait and
    -- how many of those are clips (with their frames). Kept by the triggers below, whatever
    -- statement changes the jobs or the turns.
    CREATE TABLE queue_users (
        user_id     INTEGER PRIMARY KEY,
        turn        INTEGER NOT NULL,
        first       INTEGER NOT NULL,
        waiting     INTEGER NOT NULL,
        clips       INTEGER NOT NULL,
        clip_frames INTEGER NOT NULL
    );
    CREATE INDEX queue_users_in_order ON queue_users (turn, first);

    CREATE TRIGGER queue_users_on_insert AFTER INSERT ON jobs
    WHEN NEW.status = 'queued' AND NEW.attempts = 0
    BEGIN
        {rebuild_new}
    END;

    CREATE TRIGGER queue_users_on_update AFTER UPDATE OF status, attempts ON jobs
    WHEN (OLD.status = 'queued' AND OLD.attempts = 0)
        OR (NEW.status = 'queued' AND NEW.attempts = 0)
    BEGIN
        {rebuild_new}
    END;

    CREATE TRIGGER queue_users_on_delete AFTER DELETE ON jobs
    WHEN OLD.status = 'queued' AND OLD.attempts = 0
    BEGIN
        {rebuild_old}
    END;

    CREATE TRIGGER queue_users_on_turn AFTER INSERT ON turns
    BEGIN
        UPDATE queue_users SET turn = NEW.served_at WHERE user_id = NEW.user_id;
    END;
    CREATE TRIGGER queue_users_on_next_turn AFTER UPDATE OF served_at ON turns
    BEGIN
        UPDATE queue_users SET turn = NEW.served_at WHERE user_id = NEW.user_id;
    END;
    {fill_all}
    """.format(**_QUEUE_USERS_SQL),
]
"""Schema versions, applied in order; `PRAGMA user_version` says how many a database has.
Never edit a released entry: append a new one."""


def statements(script: str) -> Iterator[str]:
    """Splits a migration script into statements; `sqlite3.complete_statement` keeps
    semicolons inside strings and trigger bodies where they belong."""
    pending = ""
    for piece in _split_keep(script, ";"):
        pending += piece
        if sqlite3.complete_statement(pending):
            statement = pending.strip()
            if statement.rstrip(";").strip():
                yield statement
            pending = ""
    if pending.strip():
        raise ValueError(f"incomplete SQL statement in migration: {pending.strip()[:80]!r}")


def _split_keep(text: str, separator: str) -> Iterable[str]:
    parts = text.split(separator)
    for part in parts[:-1]:
        yield part + separator
    yield parts[-1]
