// Built into every executable of a ThreadSanitizer build (KAFKACORE_SANITIZE=thread; see the
// top-level CMakeLists.txt): TSan reads these suppressions at startup, whatever TSAN_OPTIONS
// says, so ctest, a test binary run by hand and the server started by the process tests all
// agree. Only reports inside third-party code belong here, each with the reason.
extern "C" const char* __tsan_default_suppressions();

extern "C" const char* __tsan_default_suppressions() {
  return
      // libstdc++: std::ctype<char>::narrow() caches each narrowed character in the shared
      // facet's _M_narrow table without synchronization (the same value by every thread; a race
      // the library accepts, see GCC PR 77704). std::regex's scanner calls it while compiling,
      // so two threads compiling regexes at once (the broker's KIP-511 software-name check on a
      // reactor, a consumer's subscribe_pattern() on a user thread) report here.
      "race:std::ctype<char>::narrow\n";
}
