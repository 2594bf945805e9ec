using Robustness.Cli;
using Robustness.Samples.Module;

// The robustness tool with one more module installed: `dotnet run --project samples/SampleModule -- modules` lists it,
// `-- train --arch mlp ...`, `-- attack --attack uniform-noise ...` and `-- noise-robustness ...` use what it adds.
return await CliApplication.RunAsync(args, Console.Out, Console.Error, builder => builder.AddSampleModule());
