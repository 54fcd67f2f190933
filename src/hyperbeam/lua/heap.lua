-- Snapshots of a Lua state's heap, for hyperbeam.lua.vm (written for this
-- project). Upstream keeps luerl's whole state (luerl:externalize); a C Lua
-- heap cannot be dumped, so this walks what the globals reach and writes it
-- down: tables (with their metatables), Lua functions (their bytecode, and
-- their upvalues with which of them are shared), and by name the functions
-- and tables the node provides (the standard library, the `ao` functions).
-- Coroutines and userdata cannot be written: such a state has no snapshot
-- (the process is then replayed from an earlier one).
--
-- Format (string.pack): "HBLUA1", then the objects, each a tag and its
-- fields, then the fillings; values are a tag byte and a payload.
local host = ...
local getupvalue, setupvalue = debug.getupvalue, debug.setupvalue
local upvalueid, upvaluejoin = debug.upvalueid, debug.upvaluejoin
local getinfo, getmetatable, setmetatable = debug.getinfo, debug.getmetatable, debug.setmetatable
local pack, unpack, dump, load = string.pack, string.unpack, host.dump, host.load
local type, pairs, next, error, math_type, concat = type, pairs, next, error, math.type, table.concat
local tostring, rawset, sub = tostring, rawset, string.sub

local heap = {}

-- Give `value` the name `name` among what the node provides.
function heap.add(known, name, value)
  if known.by_value[value] == nil then
    known.by_value[value] = name
    known.by_name[name] = value
  end
end

-- Names of what the node provides, from a state as the node made it: the
-- tables and functions the globals reach (three levels down), and the
-- originals the prelude keeps.
function heap.known()
  local known = {by_value = {}, by_name = {}}
  heap.add(known, "_G", _G)
  -- Breadth first, so each gets its shortest name, whatever the order of pairs.
  local queue, first, last = {{"", _G, 1}}, 1, 1
  while queue[first] do
    local prefix, t, depth = queue[first][1], queue[first][2], queue[first][3]
    queue[first] = nil
    first = first + 1
    for k, v in pairs(t) do
      local kind = type(v)
      local keyed = type(k) == "string" or math_type(k) == "integer"
      if keyed and (kind == "table" or kind == "function") and known.by_value[v] == nil then
        local name = prefix .. tostring(k)
        heap.add(known, name, v)
        if kind == "table" and depth < 4 then
          last = last + 1
          queue[last] = {name .. ".", v, depth + 1}
        end
      end
    end
  end
  heap.add(known, "host.load", host.load)
  heap.add(known, "host.dump", host.dump)
  return known
end

function heap.save(known)
  local index, objects, count = {}, {}, 0
  local upvalues = {}  -- upvalue id -> {object index, upvalue number}
  local out = {"HBLUA1"}

  local function ref(value)
    local found = index[value]
    if found then return found end
    count = count + 1
    index[value] = count
    objects[count] = value
    return count
  end

  local function val(v)
    local t = type(v)
    if t == "nil" then return "z"
    elseif t == "boolean" then return v and "t" or "f"
    elseif t == "number" then
      if math_type(v) == "integer" then return pack("<c1j", "i", v) end
      return pack("<c1n", "d", v)
    elseif t == "string" then return pack("<c1s4", "s", v)
    elseif t == "table" or t == "function" then return pack("<c1I4", "r", ref(v))
    end
    error("a " .. t .. " cannot be in a snapshot", 0)
  end

  ref(_G)
  local i = 1
  local body = {}
  while i <= count do
    local obj = objects[i]
    local name = known.by_value[obj]
    if type(obj) == "table" then
      local entries = {}
      for k, v in next, obj do
        entries[#entries + 1] = val(k) .. val(v)
      end
      local mt = getmetatable(obj)
      body[#body + 1] = pack("<c1I4s4I4", "T", i, name or "", #entries)
        .. concat(entries) .. val(mt)
    elseif name then
      body[#body + 1] = pack("<c1I4s4", "K", i, name)
    elseif getinfo(obj, "S").what == "C" then
      error("a function the node does not know (" .. tostring(obj) .. ") cannot be in a snapshot", 0)
    else
      local nups = getinfo(obj, "u").nups
      local parts = {pack("<c1I4s4I4", "F", i, dump(obj), nups)}
      for u = 1, nups do
        local id = upvalueid(obj, u)
        local shared = upvalues[id]
        if shared then
          parts[#parts + 1] = pack("<c1I4I4", "j", shared[1], shared[2])
        else
          upvalues[id] = {i, u}
          local _, value = getupvalue(obj, u)
          parts[#parts + 1] = "v" .. val(value)
        end
      end
      body[#body + 1] = concat(parts)
    end
    i = i + 1
  end
  out[#out + 1] = pack("<I4", count)
  out[#out + 1] = concat(body)
  return concat(out)
end

function heap.restore(data, known)
  if sub(data, 1, 6) ~= "HBLUA1" then error("not a Lua heap snapshot", 0) end
  local pos = 7
  local count
  count, pos = unpack("<I4", data, pos)
  local objects, fills, links, values = {}, {}, {}, {}

  local function read_val()
    local tag = sub(data, pos, pos)
    pos = pos + 1
    if tag == "z" then return {"nil"}
    elseif tag == "t" then return {"v", true}
    elseif tag == "f" then return {"v", false}
    elseif tag == "i" then local v ; v, pos = unpack("<j", data, pos) ; return {"v", v}
    elseif tag == "d" then local v ; v, pos = unpack("<n", data, pos) ; return {"v", v}
    elseif tag == "s" then local v ; v, pos = unpack("<s4", data, pos) ; return {"v", v}
    elseif tag == "r" then local v ; v, pos = unpack("<I4", data, pos) ; return {"r", v}
    end
    error("a damaged Lua heap snapshot", 0)
  end

  for _ = 1, count do
    local tag = sub(data, pos, pos)
    pos = pos + 1
    local i
    i, pos = unpack("<I4", data, pos)
    if tag == "T" then
      local name, n
      name, n, pos = unpack("<s4I4", data, pos)
      local entries = {}
      for e = 1, n do entries[e] = {read_val(), read_val()} end
      local mt = read_val()
      local existing = name ~= "" and known.by_name[name]
      if existing then
        for k in next, existing do rawset(existing, k, nil) end
        objects[i] = existing
      else
        objects[i] = {}
      end
      fills[#fills + 1] = {i, entries, mt}
    elseif tag == "K" then
      local name
      name, pos = unpack("<s4", data, pos)
      local existing = known.by_name[name]
      if existing == nil then error("this node has no " .. name .. " to restore", 0) end
      objects[i] = existing
    elseif tag == "F" then
      local code, nups
      code, nups, pos = unpack("<s4I4", data, pos)
      local f, reason = load(code, "=snapshot", "b")
      if not f then error("a damaged function in the snapshot: " .. tostring(reason), 0) end
      objects[i] = f
      for u = 1, nups do
        local kind = sub(data, pos, pos)
        pos = pos + 1
        if kind == "j" then
          local other, ou
          other, ou, pos = unpack("<I4I4", data, pos)
          links[#links + 1] = {i, u, other, ou}
        else
          values[#values + 1] = {i, u, read_val()}
        end
      end
    else
      error("a damaged Lua heap snapshot", 0)
    end
  end

  local function get(v)
    if v[1] == "r" then return objects[v[2]] end
    return v[2]
  end
  for _, fill in pairs(fills) do
    local t = objects[fill[1]]
    for _, entry in pairs(fill[2]) do rawset(t, get(entry[1]), get(entry[2])) end
    setmetatable(t, get(fill[3]))
  end
  for _, v in pairs(values) do setupvalue(objects[v[1]], v[2], get(v[3])) end
  for _, l in pairs(links) do upvaluejoin(objects[l[1]], l[2], objects[l[3]], l[4]) end
  return count
end

return heap
