-- tshark -X lua_script: one run, many display filters. Each line of the file named by
-- $DFILTER_EXPRS is a filter; a tap listener per filter prints "N<TAB>FRAME" for each frame
-- it keeps, or "N<TAB>!MESSAGE" when tshark refuses the filter (N counts lines from 1).
local exprs = {}
for line in io.lines(os.getenv("DFILTER_EXPRS")) do exprs[#exprs + 1] = line end
for i, e in ipairs(exprs) do
  local ok, l = pcall(Listener.new, nil, e)
  if ok then
    function l.packet(pinfo) print(i .. "\t" .. pinfo.number) end
  else
    local msg = tostring(l):gsub("\n", " ")
    print(i .. "\t!" .. msg)
  end
end
