module vudatasim.example/clustermanager

go 1.19
