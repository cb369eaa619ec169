"""Submits py/app.py as a task (a standalone script) to a queue, as `clearml-task` would.

Usage: submit.py <project> <queue> <requirements> [static route]. Prints the task's id.
"""
import os
import shutil
import sys
import tempfile

from clearml import Task

project, queue, requirements = sys.argv[1], sys.argv[2], sys.argv[3]
static_route = sys.argv[4] if len(sys.argv) > 4 else ""
# A standalone script: outside any git checkout, so the SDK sends its text, not a repository.
script = os.path.join(tempfile.mkdtemp(), "app.py")
shutil.copy(os.path.join(os.path.dirname(os.path.abspath(__file__)), "app.py"), script)
task = Task.create(
    project_name=project,
    task_name="endpoint app" + (f" on {static_route}" if static_route else ""),
    task_type="application",
    script=script,
    packages=[requirements],
)
task.set_parameters({"General/static_route": static_route})
Task.enqueue(task, queue_name=queue)
print(task.id)
