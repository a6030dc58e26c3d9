"""The job system: it takes a job, runs it on a worker in the fair order, and sees its result
delivered exactly once, or says why not. It knows nothing of Telegram: what it needs from the
application around it are the protocols of `ports`.

- `model`: the job, its states, the queue's refusals and the `JobQueue` protocol;
  `queue`: the SQLite queue; `fair_order`: the order and the waiting-time estimate;
  `fair_sql`: that order asked of SQLite (the next job, a job's place) at scale.
- `housekeeping`: the hourly round (file ids, the work folder, `retention`: what is kept for
  how long, with `job_days`: the daily counts of what it deleted; the daily backups).
- `ports`: what the job system asks of its caller (`Inputs`, `Presenter`, `StatusDisplay`,
  `BattleStage`) and the errors that come back; `work_area`: the work folder.
- `runner`: one job at a time per worker, from claim to result (with the `Worker` and
  `Capacity` protocols); `pool`: one runner per worker; `outcomes`: what becomes of a job
  without a result; `delivery`: sending a result exactly once; `cancellation`: loops that stop.
- `battles` (a style battle's album, vote and deadline) and `battle_records` (its tables).
- `work`: what a worker is asked and answers, wherever it runs; `execution` and
  `clip_execution`: one job (a picture, a clip) on the engine; `worker`: the local TensorFlow
  process, `child` its side and `pipe` the messages between them; `gpus`: one worker per GPU.
- `remote/`: the same jobs on Celery workers on other machines (scale-out).
"""
