"""The job system: the queue (`queue`), the loop that runs jobs (`runner`), one runner per
worker (`pool`), the TensorFlow child process (`worker`), GPU discovery (`gpus`), what becomes
of a job that did not produce a result (`outcomes`) and sending results (`delivery`)."""
