"""Errors for bad user input: each names the input at fault and the fix."""


class PortraitInputError(ValueError):
    """A user-facing input problem; the message reads '<input>: <problem>. Fix: <fix>'."""

    def __init__(self, input_name: str, problem: str, fix: str):
        self.input_name = input_name
        self.problem = problem
        self.fix = fix
        super().__init__(f"{input_name}: {problem}. Fix: {fix}")

    def __reduce__(self):
        """Rebuild from the three parts, so the error survives pickling (worker processes, Ray)."""
        return (type(self), (self.input_name, self.problem, self.fix))


class CheckpointError(ValueError):
    """A model file that cannot be used: names the file and what was expected."""
