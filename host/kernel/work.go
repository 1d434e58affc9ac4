package kernel

import (
	"context"
	"encoding/json"

	"spellhost/host/task"
	"spellhost/tools"
)

// WorkTool is the Work kind of a task that invokes a tool.
const WorkTool = "tool"

// ToolWork is the Work body of a tool task: the tool's name and its
// parameters, as JSON carries them to a worker.
type ToolWork struct {
	Tool   string         `json:"tool"`
	Params map[string]any `json:"params,omitempty"`
}

// ToolExecutor returns the executor of "tool" work: it decodes the body
// and invokes the tool through this kernel, under this kernel's registry
// and permissions (a worker's own, not the submitter's). A tool this
// kernel lacks is not_found; no retry can help.
func (k *Kernel) ToolExecutor() task.Executor {
	return func(ctx context.Context, _ *task.Attempt, body []byte) (any, error) {
		var w ToolWork
		if err := json.Unmarshal(body, &w); err != nil {
			return nil, tools.Invalid("tool task: body: %v", err)
		}
		if w.Tool == "" {
			return nil, tools.Invalid("tool task: body: missing field \"tool\"")
		}
		return k.Invoke(ctx, w.Tool, w.Params, 0)
	}
}
