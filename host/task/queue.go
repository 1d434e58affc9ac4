package task

import "container/heap"

// queue is the tasks waiting for a worker: a heap on priority (higher
// first), then submission sequence (earlier first).
type queue []*task

var _ heap.Interface = (*queue)(nil)

func (q queue) Len() int { return len(q) }

func (q queue) Less(i, j int) bool {
	if q[i].spec.Priority != q[j].spec.Priority {
		return q[i].spec.Priority > q[j].spec.Priority
	}
	return q[i].seq < q[j].seq
}

func (q queue) Swap(i, j int) {
	q[i], q[j] = q[j], q[i]
	q[i].index = i
	q[j].index = j
}

func (q *queue) Push(x any) {
	t := x.(*task)
	t.index = len(*q)
	*q = append(*q, t)
}

func (q *queue) Pop() any {
	old := *q
	n := len(old) - 1
	t := old[n]
	old[n] = nil
	t.index = -1
	*q = old[:n]
	return t
}
