"""The job system: the job and the queue's protocol (`model`), the SQLite queue (`queue`), the
loop that runs jobs (`runner`), one runner per worker (`pool`), the TensorFlow child process
(`worker` in the bot, `child` in the process, and `protocol` between them), GPU discovery
(`gpus`), what becomes of a job that did not produce a result (`outcomes`) and sending
results (`delivery`)."""
