-- ArgoCD health check for optionsflow.io/OptionsPipeline (see docs/operator.md).
-- Reads only status fields that are part of the API: observedGeneration and conditions.
-- Until the operator has observed the current generation, nothing it says is current.
local hs = { status = "Progressing", message = "waiting for the operator to observe the pipeline" }
if obj.status == nil then
  return hs
end
if obj.metadata.generation ~= nil and obj.status.observedGeneration ~= obj.metadata.generation then
  hs.message = "waiting for the operator to observe generation " .. tostring(obj.metadata.generation)
  return hs
end
local function condition(type)
  if obj.status.conditions == nil then
    return nil
  end
  for _, c in ipairs(obj.status.conditions) do
    if c.type == type then
      return c
    end
  end
  return nil
end
-- Paused by the annotation, or suspended by the spec: ArgoCD's Suspended either way.
for _, type in ipairs({ "ReconciliationPaused", "Suspended" }) do
  local held = condition(type)
  if held ~= nil and held.status == "True" then
    hs.status = "Suspended"
    hs.message = held.message
    return hs
  end
end
local degraded = condition("Degraded")
if degraded ~= nil and degraded.status == "True" then
  hs.status = "Degraded"
  hs.message = degraded.reason .. ": " .. degraded.message
  return hs
end
local ready = condition("Ready")
if ready ~= nil and ready.status == "True" then
  hs.status = "Healthy"
  hs.message = ready.message
  return hs
end
if ready ~= nil then
  hs.message = ready.reason .. ": " .. ready.message
end
return hs
