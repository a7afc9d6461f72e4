"""CPU thread settings for TensorFlow that hold up when other jobs share the machine.

TensorFlow runs each op on an intra-op pool (one thread per logical CPU by default) and
independent ops side by side on an inter-op pool of the same size, so a GAN step can keep twice
as many threads runnable as there are cores. Alone that costs little; beside another busy
process, threads that wait on each other inside an op lose their time slices to it.
:func:`configure_threads` sets one intra-op thread per physical core (at most
:data:`keras_facegen.backend.cpu.MAX_DEFAULT_THREADS`) and one inter-op thread, before
TensorFlow starts its runtime, unless the user chose (``TF_NUM_INTRAOP_THREADS`` /
``TF_NUM_INTEROP_THREADS``). The measurements behind the choice are in docs/benchmarks.md
("Training on a shared CPU").
"""

from __future__ import annotations

import contextlib
import os

import tensorflow as tf

from keras_facegen.backend.cpu import check_num_threads, default_num_threads

#: Environment variables that mean "the user chose the thread counts; leave them alone".
USER_THREAD_VARIABLES = ("TF_NUM_INTRAOP_THREADS", "TF_NUM_INTEROP_THREADS")


def configure_threads(num_threads: int | None = None, force: bool = False) -> int | None:
    """Sets TensorFlow's CPU threads: ``num_threads`` intra-op threads, one inter-op thread.

    TensorFlow accepts thread counts only before its runtime starts (the first op); after that
    they are left as they are.

    Args:
        num_threads: Intra-op threads; defaults to ``min(physical cores, 4)``.
        force: Apply even if the environment names a thread count.

    Returns:
        The intra-op thread count now in effect (``0``: TensorFlow's default), or ``None`` if the
        user's setting was kept.

    Raises:
        ValueError: If ``num_threads`` is not a positive integer.
    """
    check_num_threads(num_threads)
    if not force and any(os.environ.get(name) for name in USER_THREAD_VARIABLES):
        return None
    if num_threads is None:
        num_threads = default_num_threads()
    # Refused once the runtime has started: the counts then stay as they are.
    with contextlib.suppress(RuntimeError):
        tf.config.threading.set_intra_op_parallelism_threads(num_threads)
        tf.config.threading.set_inter_op_parallelism_threads(1)
    return int(tf.config.threading.get_intra_op_parallelism_threads())


def thread_settings() -> dict[str, int | str]:
    """TensorFlow's CPU thread settings now in effect (``0``: TensorFlow's default, per CPU).

    Returns:
        ``intra_op`` and ``inter_op`` thread counts.
    """
    return {
        "intra_op": int(tf.config.threading.get_intra_op_parallelism_threads()),
        "inter_op": int(tf.config.threading.get_inter_op_parallelism_threads()),
    }
