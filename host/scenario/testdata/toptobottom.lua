local r = Tool.invoke("calculator", {input = "2+2"})
print("four", r.result)
