print("m2mc")
