-- Argo CD health of a sextant.dev ModelDeployment (Lua 5.1, as Argo CD embeds).
--
--   Progressing  the operator has not seen this generation yet, or a rollout moves
--   Suspended    a rollout is paused: waiting for `sextant promote` (or a pause timer)
--   Degraded     the model cannot be resolved or placed, or a rollout was aborted
--   Healthy      every replica of the current version is ready, no rollout in flight
--
-- An aborted rollout is Degraded, as Argo Rollouts reports it, although the stable version
-- keeps serving (the resource's own Ready condition stays True, with a RolloutAborted
-- condition beside it). Argo CD's health answers "is what Git declares running?", and after
-- an abort it is not: Healthy would let the next sync wave go on and keep
-- on-health-degraded notifications silent. The message says that the stable still serves.
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

local function text(value, fallback)
  if value == nil or value == "" then
    return fallback
  end
  return value
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
local rollout = status.rollout or {}
local state = rollout.state

if state == "Aborted" then
  hs.status = "Degraded"
  local serving = ""
  if ready ~= nil and ready.status == "True" and status.stable ~= nil then
    serving = " (stable version " .. tostring(status.stable.version) .. " still serves)"
  end
  hs.message = "Rollout aborted" .. serving .. ": " .. text(rollout.message, "see status.rollout")
  return hs
end

if state == "Paused" then
  hs.status = "Suspended"
  hs.message = text(rollout.message, "Rollout paused")
  return hs
end

if status.phase == "Failed" or status.phase == "Degraded" then
  hs.status = "Degraded"
  hs.message = ready ~= nil and text(ready.message, status.phase) or status.phase
  return hs
end

if ready ~= nil and ready.status == "False" and (ready.reason == "ModelNotFound"
    or ready.reason == "RegistryUnavailable" or ready.reason == "RegistryError"
    or ready.reason == "Unschedulable") then
  hs.status = "Degraded"
  hs.message = text(ready.message, ready.reason)
  return hs
end

if ready ~= nil and ready.status == "True" and state ~= "Progressing" and state ~= "Promoting" then
  hs.status = "Healthy"
  hs.message = text(ready.message, "Ready")
  return hs
end

hs.status = "Progressing"
if state == "Progressing" or state == "Promoting" then
  hs.message = text(rollout.message, "Rollout in progress")
elseif ready ~= nil then
  hs.message = text(ready.message, "Waiting for replicas")
else
  hs.message = "Waiting for the Ready condition"
end
return hs
