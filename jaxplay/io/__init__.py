"""Reading and writing what a run makes: checkpoints, metrics (JSON lines, TensorBoard), plots,
GIFs, and OpenSpiel policies and histories."""
