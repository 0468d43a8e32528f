-- Argo CD health of a sextant.dev FeatureView (Lua 5.1, as Argo CD embeds), from kstatus rules:
--
--   Progressing  the operator has not seen this generation yet, or Ready is not decided
--   Degraded     Ready is False for a reason other than work still under way
--   Healthy      Ready is True
local hs = {}

local function condition(status, type_)
  if status.conditions == nil then
    return nil
  end
  for _, c in ipairs(status.conditions) do
    if c.type == type_ then
      return c
    end
  end
  return nil
end

local status = obj.status
local generation = obj.metadata.generation
if status == nil or status.observedGeneration == nil
    or (generation ~= nil and status.observedGeneration < generation) then
  hs.status = "Progressing"
  hs.message = "Waiting for the Sextant operator to observe generation " .. tostring(generation)
  return hs
end

local ready = condition(status, "Ready")
if ready == nil or ready.status == "Unknown" then
  hs.status = "Progressing"
  hs.message = "Waiting for the Ready condition"
  return hs
end

local message = ready.message
if message == nil or message == "" then
  message = ready.reason
end
if ready.status == "True" then
  hs.status = "Healthy"
elseif ready.reason == "Progressing" or ready.reason == "InProgress"
    or ready.reason == "Materializing" then
  hs.status = "Progressing"
else
  hs.status = "Degraded"
end
hs.message = message
return hs
