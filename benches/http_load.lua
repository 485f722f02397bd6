-- A mix of searches with and without facet filters, cycled over the connections.
local paths = {
  "/api/search?q=spare+parts+handpump",
  "/api/search?q=spare+parts&filter=%2Fcontext%2Fsetting%2Frural",
  "/api/search?q=latrine+pit+full&filter=%2Ftechnology%2Fsanitation",
  "/api/search?q=vidange+des+boues&lang=fr",
  "/api/search?q=junta+de+agua+tarifa&filter=%2Flanguage%2Fes",
  "/api/search?q=monitoring&filter=%2Ffailure_cause%2Fprogramme&filter=%2Ftechnology%2Fwater",
  "/api/search?q=cholera+hygiene+promotion&sort=newest",
  "/api/search?filter=%2Ffailure_cause%2Ffinancial%2Ffunding-ended",
  "/api/search?q=comite+de+gestion+pompe&limit=20",
  "/api/search?q=solar+pump+borehole&filter=%2Fcontext%2Fenvironment%2Farid&year_min=2010",
  "/api/search?q=esgoto+condominial",
  "/api/search?q=handwashing+school&filter=%2Fcontext%2Finstitution%2Fschool",
}
local mode = os.getenv("MODE")
local suffix = (mode and mode ~= "") and ("&mode=" .. mode) or ""
local i = 0
request = function()
  i = i + 1
  return wrk.format("GET", paths[(i % #paths) + 1] .. suffix)
end
done = function(summary, latency, requests)
  io.write(string.format("RESULT requests=%d duration_s=%.1f rps=%.1f p50_ms=%.2f p90_ms=%.2f p99_ms=%.2f max_ms=%.2f errors_status=%d errors_socket=%d\n",
    summary.requests, summary.duration / 1e6, summary.requests / (summary.duration / 1e6),
    latency:percentile(50) / 1000, latency:percentile(90) / 1000, latency:percentile(99) / 1000, latency.max / 1000,
    summary.errors.status, summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout))
end
