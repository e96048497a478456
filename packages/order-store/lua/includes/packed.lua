--[[
  The packed form of a reported order (one string value, see order-packed.ts, which reads it):

    '2' <fingerprint: 12 chars> US <header fields, US-separated, trailing empty ones left out>
    then per run of units with the same slot, SKU and failure reason: RS slotNum US skuCode US letters [US reason]
    then per timeline event: GS <kind letter><time: base 36, from the previous event (the first from
    acceptedAt), '-' when earlier> [US field]...

  US, RS and GS are the control characters 0x1f, 0x1e and 0x1d, which no identifier may hold
  (idSchema); free texts (failure reasons, answers, errors) have their control characters turned into
  spaces. Numbers are base 36, times as differences, so an order of a few units packs into ~70 bytes.
]]
local US, RS, GS = '\31', '\30', '\29'

local DIGITS = '0123456789abcdefghijklmnopqrstuvwxyz'

-- an integer in base 36 ('-' first when negative)
local function b36(n)
  n = math.floor(tonumber(n) or 0)
  local sign = ''
  if n < 0 then
    sign = '-'
    n = -n
  end
  if n == 0 then return '0' end
  local out = ''
  while n > 0 do
    local d = n % 36
    out = string.sub(DIGITS, d + 1, d + 1) .. out
    n = (n - d) / 36
  end
  return sign .. out
end

local function fromB36(text)
  if text == nil or text == '' then return 0 end
  if string.sub(text, 1, 1) == '-' then return -(tonumber(string.sub(text, 2), 36) or 0) end
  return tonumber(text, 36) or 0
end

-- a free text without control characters (they separate the packed fields), at most `max` bytes
local function clean(text, max)
  text = string.gsub(tostring(text or ''), '%c', ' ')
  if max then text = string.sub(text, 1, max) end
  return text
end

-- a text that has a short code when it is the usual one: '' stands for `usual`, '!' for
-- `bang` (when given); a text that is itself empty or starts with '!' or '=' gets a '=' first
local function coded(text, usual, bang)
  text = clean(text)
  if text == usual then return '' end
  if bang and text == bang then return '!' end
  local first = string.sub(text, 1, 1)
  if text == '' or first == '!' or first == '=' then return '=' .. text end
  return text
end

local B64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_'

-- the first 72 bits of a hex fingerprint as 12 base64url characters
local function fingerprint72(hex)
  local out = ''
  for g = 0, 2 do
    local n = tonumber(string.sub(hex or '', g * 6 + 1, g * 6 + 6), 16) or 0
    for shift = 18, 0, -6 do
      local d = math.floor(n / 2 ^ shift) % 64
      out = out .. string.sub(B64, d + 1, d + 1)
    end
  end
  return out
end

-- fields joined by US, trailing empty ones left out
local function joined(fields)
  local last = #fields
  while last > 0 and (fields[last] == nil or fields[last] == '') do last = last - 1 end
  local parts = {}
  for i = 1, last do parts[i] = fields[i] or '' end
  return table.concat(parts, US)
end

-- a timeline list entry (the compact array form, or the older object form) as
-- {k, at, ...}; nil when it is not an event we know
local function listEvent(line)
  local ok, e = pcall(cjson.decode, line)
  if not ok or type(e) ~= 'table' then return nil end
  if e[1] == nil and e.e ~= nil then
    local kinds = {accepted = 'a', vend = 'v', final = 'f', callback = 'c', ['callback-replay'] = 'r'}
    local k = kinds[e.e]
    if not k then return nil end
    if k == 'v' then return {'v', e.at, e.unit, e.answer, e.vendId} end
    if k == 'f' then return {'f', e.at, e.outStatus} end
    if k == 'c' then return {'c', e.at, e.attempt, e.answer} end
    if k == 'r' then return {'r', e.at, e.jobId} end
    return {'a', e.at}
  end
  if type(e[1]) ~= 'string' or type(e[2]) ~= 'number' then return nil end
  return e
end

--[[
  Packs events ({k, at, ...} as listEvent gives them) after `prev` (the time of the event before, or
  acceptedAt). ctx: orderViewId; reasons (failure reason per unit index, 0-based) and outStatus
  when known (then the usual answers are left out); vendUnit and attempt, the last vend's unit and
  callback's attempt before these (updated). Returns the packed text and the last event's time.
]]
local function packEvents(events, prev, ctx)
  local out = {}
  for _, e in ipairs(events) do
    local k, at = e[1], math.floor(tonumber(e[2]) or prev)
    local head = GS .. k .. b36(at - prev)
    local fields
    if k == 'v' then
      local unit = tonumber(e[3]) or 0
      local unitField = tostring(unit)
      if ctx.vendUnit ~= nil and unit == ctx.vendUnit + 1 or ctx.vendUnit == nil and unit == 0 then unitField = '' end
      local reason = ctx.reasons and ctx.reasons[unit]
      local vendId = ''
      if e[5] ~= nil and e[5] ~= cjson.null and tostring(e[5]) ~= ctx.orderViewId .. '-' .. unit then vendId = clean(e[5]) end
      fields = {unitField, coded(e[4], 'success', reason and ('failed: ' .. reason)), vendId}
      ctx.vendUnit = unit
    elseif k == 'f' then
      local status = tostring(e[3] or '')
      if ctx.outStatus and status == tostring(ctx.outStatus) then status = '' end
      fields = {status}
    elseif k == 'c' then
      local attempt = tonumber(e[3]) or 1
      local attemptField = tostring(attempt)
      if attempt == (ctx.attempt or 0) + 1 then attemptField = '' end
      fields = {attemptField, coded(e[4], 'ok: owitho answered 200')}
      ctx.attempt = attempt
    elseif k == 'r' then
      fields = {clean(e[3])}
    elseif k == 'a' then
      fields = {}
    end
    if fields then
      local rest = joined(fields)
      if rest ~= '' then head = head .. US .. rest end
      out[#out + 1] = head
      prev = at
    end
  end
  return table.concat(out), prev
end

-- the time of a packed order's last event (acceptedAt when it has none)
local function lastEventTime(packed)
  local header = string.match(packed, '^[12]' .. string.rep('.', 12) .. US .. '([^' .. RS .. GS .. ']*)')
  local at = fromB36(string.match(header or '', '^([^' .. US .. ']*)'))
  for event in string.gmatch(packed, GS .. '([^' .. GS .. ']*)') do
    at = at + fromB36(string.match(event, '^.(%-?[0-9a-z]*)'))
  end
  return at
end

-- where the counts are in the header, by the form's version (order-packed.ts)
local COUNT_FIELDS = {['1'] = {duplicates = 12, conflicts = 13}, ['2'] = {duplicates = 10, conflicts = 11}}

-- the packed order with 1 added to one of its counts ('duplicates' | 'conflicts')
local function withCount(packed, name)
  local head, header, rest = string.match(packed, '^([12]' .. string.rep('.', 12) .. US .. ')([^' .. RS .. GS .. ']*)(.*)$')
  if not head then return packed end
  local field = COUNT_FIELDS[string.sub(packed, 1, 1)][name]
  local fields = {}
  for value in string.gmatch(header .. US, '([^' .. US .. ']*)' .. US) do fields[#fields + 1] = value end
  fields[field] = tostring((tonumber(fields[field] or '') or 0) + 1)
  return head .. joined(fields) .. rest
end

-- a hash command on the order's record; `true` second when the record is a packed order (a string:
-- the command failed with WRONGTYPE), so the usual path costs no extra command
local function onRecord(...)
  local reply = redis.pcall(...)
  if type(reply) == 'table' and reply.err then
    if string.find(reply.err, 'WRONGTYPE', 1, true) then return nil, true end
    error(reply)
  end
  return reply, false
end
