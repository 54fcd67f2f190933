-- The node's part of every Lua state (hyperbeam.lua.vm), run before any
-- module. It keeps the tools it needs as locals (so no script reaches them),
-- takes away what would let a script escape its limits, and returns the
-- host table the node calls through. Written for this project.
local host_fns = ...
local sethook, traceback, getinfo = debug.sethook, debug.traceback, debug.getinfo
local pack, unpack = table.pack, table.unpack
local xpcall, error, type, pairs, tostring = xpcall, error, type, pairs, tostring
local rawget, math_type, sort, gmatch = rawget, math.type, table.sort, string.gmatch

local load, string_dump = load, string.dump

-- No script may change or read the instruction hook (it is the budget).
debug.sethook = nil
debug.gethook = nil
-- lupa's bridge to Python is not for scripts, by name or by `require`.
python, package.loaded.python = nil, nil
-- Whatever the `sandbox` option, no script touches the node's files or
-- environment, loads precompiled chunks (which can corrupt the VM) or C code.
io, package.loaded.io = nil, nil
for _, name in ipairs({"execute", "exit", "getenv", "remove", "rename", "tmpname", "setlocale"}) do
  os[name] = nil
end
loadfile, dofile = nil, nil
_G.load = function(chunk, name, _, env)
  if env == nil then return load(chunk, name, "t") end
  return load(chunk, name, "t", env)
end
package.path, package.cpath, package.loadlib = "", "", nil
package.searchers = {package.searchers[1]}  -- package.preload only
print = function() end  -- nowhere to write to

local host = {load = load, dump = string_dump}

-- Call f(...) with at most `budget` instructions (0: no limit). Past it, the
-- hook raises an error at every instruction, so that a script that catches
-- the first one (pcall in a loop) still stops; only the error handler below
-- runs free. Returns true, results... or false, message, traceback.
function host.call(budget, f, ...)
  local trace
  local function handler(message)
    sethook()
    trace = traceback(tostring(message), 2)
    return message
  end
  if budget and budget > 0 then
    local message = "the script ran past its instruction budget (" .. budget .. " instructions)"
    local function again()
      if getinfo(2, "f").func ~= handler then error(message, 0) end
    end
    sethook(function() sethook(again, "", 1) ; error(message, 0) end, "", budget)
  end
  local results = pack(xpcall(f, handler, ...))
  sethook()
  if results[1] then
    return true, unpack(results, 2, results.n)
  end
  return false, results[2], trace
end

-- Whether a table is a list: keys exactly 1..n, n > 0 (upstream decodes an
-- empty table as a message).
function host.is_list(t)
  local n = #t
  if n == 0 then return false end
  local count = 0
  for k in pairs(t) do
    if math_type(k) ~= "integer" or k < 1 or k > n then return false end
    count = count + 1
  end
  return count == n
end

-- The names of the global functions. Upstream: dev_lua:functions/3.
function host.functions()
  local names = {}
  for k, v in pairs(_G) do
    if type(v) == "function" and type(k) == "string" then names[#names + 1] = k end
  end
  sort(names)
  return names
end

function host.global(name)
  return rawget(_G, name)
end

-- Install the `ao` library (keeping an `ao` table a module made). The host
-- functions are Python callables: they are reached only through these Lua
-- closures, and their attributes are closed to scripts (hyperbeam.lua.vm).
function host.install()
  local ao = rawget(_G, "ao")
  if type(ao) ~= "table" then ao = {} ; _G.ao = ao end
  local resolve, set, event = host_fns.resolve, host_fns.set, host_fns.event
  ao.resolve = function(...) return resolve(pack(...)) end
  ao.set = function(...) return set(pack(...)) end
  ao.event = function(...) event(pack(...)) ; return "ok" end
  return {["ao.resolve"] = ao.resolve, ["ao.set"] = ao.set, ["ao.event"] = ao.event}
end

-- Upstream's `sandbox` option: each listed path replaced by a value.
function host.sandbox(paths)
  for path, value in pairs(paths) do
    local parent, last = _G, nil
    for part in gmatch(path, "[^%.]+") do
      if last then
        parent = rawget(parent, last)
        if type(parent) ~= "table" then parent = nil ; break end
      end
      last = part
    end
    if parent and last then parent[last] = value end
  end
end

return host
