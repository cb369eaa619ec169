"""What a ClearML user's script does: a project and a task, enqueued, then read back.

Prints one JSON object with what the SDK read back. Usage: sdk_flow.py <project> <queue>
"""
import json
import sys

from clearml import Task
from clearml.backend_api.session.client import APIClient

project, queue = sys.argv[1], sys.argv[2]
client = APIClient()
known = [p.name for p in client.projects.get_all(name=project)]

task = Task.create(project_name=project, task_name="sdk flow", task_type="training")
task.set_parameters({"General/lr": "0.01"})
Task.enqueue(task, queue_name=queue)

again = Task.get_task(task_id=task.id)
print(
    json.dumps(
        {
            "projects_before": known,
            "id": again.id,
            "name": again.name,
            "status": again.get_status(),
            "project": again.get_project_name(),
            "project_id": again.project,
            "parameters": again.get_parameters_as_dict(),
            "queues": [q.name for q in client.queues.get_all(name=queue)],
        }
    )
)
