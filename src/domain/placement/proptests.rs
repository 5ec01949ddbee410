//! Property tests over random clusters.
