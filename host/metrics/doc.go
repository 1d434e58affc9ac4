// Package metrics records what a spellhost run measures, always in bounded
// memory: counters, gauges, rates, HDR-histogram trends (per VU, merged at
// the end), a per-second time series, and the memory sampler with its leak
// verdict.
package metrics
