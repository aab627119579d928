// Package artifact holds generated files: File, the sorted duplicate-free Set of them that
// emit.Build returns, NodeFile and NodePart (what a family contributes to a node, which the
// user-data assembles), the atomic WriteDir that puts a Set on disk, and Compare, which tells how
// a directory differs from a Set (the drift check of `pghac build --check`).
//
// It knows nothing of clusters or formats; it imports only the standard library and x/sys.
package artifact
