#pragma once
namespace edgekv {
// edgekv's own version, and the Redis version whose behaviour it follows
// (reported as redis_version, which client libraries use to pick features).
inline constexpr const char* kEdgekvVersion = "0.1.0";
inline constexpr const char* kRedisCompatVersion = "7.2.0";
}  // namespace edgekv
